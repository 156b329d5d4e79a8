import { describe, expect, it } from 'vitest';
import { errorOf, evalLua, newLua } from '../helpers/lua.ts';

describe('kumo.domain_map', () => {
  it('a wildcard matches any depth below it but not the name itself; exact beats wildcard; case-sensitive (§14.19)', async () => {
    expect(await evalLua(`
      local m = kumo.domain_map.new { ['*.x.test'] = 'wild' }
      m['mail.x.test'] = 'exact'
      return { m['a.x.test'], m['a.b.x.test'], m['x.test'] == nil, m['mail.x.test'], m['MAIL.X.TEST'] == nil, m['A.x.test'] }
    `)).toEqual(['wild', 'wild', true, 'exact', true, 'wild']);
  });

  it('defining a.b.x.test makes b.x.test nil despite *.x.test (§14.20)', async () => {
    expect(await evalLua(`
      local m = kumo.domain_map.new { ['*.x.test'] = 'wild', ['a.b.x.test'] = 'deep' }
      return { m['b.x.test'] == nil, m['a.b.x.test'], m['c.b.x.test'] == nil, m['c.x.test'] }
    `)).toEqual([true, 'deep', true, 'wild']);
  });

  it('cannot be iterated; returned tables are copies (§14.21)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`local m = kumo.domain_map.new { a = 1 } for k in pairs(m) do end`))).toMatch(/cannot be iterated/);
    expect(await errorOf(t.eval(`local m = kumo.domain_map.new { a = 1 } return #m`))).toMatch(/has no length/);
    expect(await t.eval(`
      local src = { list = { 1, 2 } }
      local m = kumo.domain_map.new { ['t.test'] = src }
      src.list[1] = 99
      local got = m['t.test']
      got.list[2] = 42
      return { m['t.test'].list[1], m['t.test'].list[2] }
    `)).toEqual([1, 2]);
  });

  it('nil masks a wildcard; numbers become keys; functions and other key types raise', async () => {
    const t = newLua();
    expect(await t.eval(`
      local m = kumo.domain_map.new { ['*.x.test'] = 'wild' }
      m['n.x.test'] = nil
      m[42] = 'num'
      return { m['n.x.test'] == nil, m['42'] }
    `)).toEqual([true, 'num']);
    expect(await errorOf(t.eval(`local m = kumo.domain_map.new() m.a = function() end`))).toMatch(/cannot store a function/);
    expect(await errorOf(t.eval(`local m = kumo.domain_map.new() m[true] = 1`))).toMatch(/a key must be a string, got boolean/);
  });
});

describe('kumo.cidr.make_map', () => {
  it('finds the longest prefix for ip:port keys; non-IP keys raise (§14.22)', async () => {
    const t = newLua();
    expect(await t.eval(`
      local m = kumo.cidr.make_map { ['10.0.0.0/8'] = 'eight', ['10.1.0.0/16'] = 'sixteen' }
      m['192.0.2.7'] = 'host'
      m['2001:db8::/32'] = 'v6'
      return { m['10.1.2.3:25'], m['10.2.0.1'], m['[10.1.9.9]:2525'], m['192.0.2.7'], m['192.0.2.8'] == nil, m['[IPv6:2001:db8::5]'], m['11.0.0.1'] == nil }
    `)).toEqual(['sixteen', 'eight', 'sixteen', 'host', true, 'v6', true]);
    expect(await errorOf(t.eval(`local m = kumo.cidr.make_map {} return m['host']`))).toMatch(/"host" is not an IP address or CIDR network/);
    expect(await errorOf(t.eval(`return kumo.cidr.make_map { ['10.1.2.3/16'] = 1 }`))).toMatch(/host bits set/);
  });
});

describe('kumo.regex_set_map.new', () => {
  it('searches unanchored; no match ⇒ nil; assignment raises (§14.23)', async () => {
    const t = newLua();
    expect(await t.eval(`
      local m = kumo.regex_set_map.new { ['^550 5\\\\.1\\\\.1'] = 'invalid', ['mailbox (is )?full'] = 'quota' }
      return { m['550 5.1.1 no such user'], m['452 mailbox is full today'], m['250 ok'] == nil }
    `)).toEqual(['invalid', 'quota', true]);
    expect(await errorOf(t.eval(`local m = kumo.regex_set_map.new { a = 1 } m.b = 2`))).toMatch(/immutable/);
    expect(await errorOf(t.eval(`local m = kumo.regex_set_map.new { ['(unclosed'] = 1 }`))).toMatch(/^compiling rules: /);
    expect(await errorOf(t.eval(`local m = kumo.regex_set_map.new { ['a(?=b)'] = 1 }`))).toMatch(/^compiling rules: .*look-around is not supported/);
    expect(await errorOf(t.eval(`local m = kumo.regex_set_map.new { ['(a)\\\\1'] = 1 }`))).toMatch(/^compiling rules: .*backreferences/);
    expect(await t.eval(`return kumo.regex_set_map.new { ['[(?=]x'] = 'class' }['(x']`)).toBe('class');
  });
});
