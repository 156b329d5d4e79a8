import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { EGRESS_RESOLVER } from '../../src/kumo/egress.ts';
import { VirtualClock } from '../../src/util/clock.ts';

describe('kumo.make_egress_source (§1.1)', () => {
  it('needs a name, rejects unknown keys and bad IP literals (checklist 1)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval('return kumo.make_egress_source {}'))).toMatch(/missing field `name`, while processing \{\}/);
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', bogus = 1 }"))).toMatch(/unknown field `bogus`/);
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', source_address = 'x' }"))).toMatch(/source_address.*"x" is not a valid IP address/);
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', remote_port = 70000 }"))).toMatch(/remote_port/);
    expect(await t.eval("return type(kumo.make_egress_source { name = 'a', source_address = '2001:db8::1', ehlo_domain = 'x.test', remote_port = 2525, ttl = '5 minutes' })")).toBe('userdata');
  });

  it('checks proxy host:port syntax at construction (checklist 2)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', ha_proxy_server = 'proxy.test' }"))).toMatch(/ha_proxy_server.*port is required/);
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', socks5_proxy_server = '::1:1080' }"))).toMatch(/\[addr\]:port/);
    for (const ok of ['proxy.test:5000', '10.0.0.1:5000', '[::1]:1080']) {
      expect(await t.eval(`return type(kumo.make_egress_source { name = 'a', ha_proxy_server = '${ok}', ha_proxy_source_address = '10.0.0.2' })`)).toBe('userdata');
    }
  });

  it('validates the suspension rules strictly', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', suspend_when_unplumbed = { trigger = 'Immediate' } }"))).toMatch(/missing field `suspend_when_unplumbed.duration`/);
    expect(await errorOf(t.eval("return kumo.make_egress_source { name = 'a', suspend_when_unplumbed = { duration = '1m', x = 1 } }"))).toMatch(/unknown field `suspend_when_unplumbed.x`/);
    expect(await t.eval("return type(kumo.make_egress_source { name = 'a', suspend_when_proxy_unhealthy = { trigger = { Threshold = '3/min' }, duration = '5m' } })")).toBe('userdata');
  });

  it('is opaque: src.name raises and it does not serialise (checklist 3)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("local s = kumo.make_egress_source { name = 'a' } return s.name"))).toMatch(/EgressSource is opaque: its field 'name' cannot be read/);
    expect(await errorOf(t.eval("return kumo.serde.json_encode(kumo.make_egress_source { name = 'a' })"))).toBeTruthy();
    expect(await errorOf(t.eval("return kumo.make_egress_pool { name = 'p' }.name"))).toMatch(/EgressPool is opaque/);
  });
});

describe('kumo.make_egress_pool (§1.2)', () => {
  it('entries are optional; an entry needs a name; weight defaults to 1 (checklist 4)', async () => {
    const t = newLua();
    expect(await t.eval("return type(kumo.make_egress_pool { name = 'p' })")).toBe('userdata');
    expect(await errorOf(t.eval("return kumo.make_egress_pool { name = 'p', entries = { { weight = 2 } } }"))).toMatch(/missing field `entries\[0\].name`/);
    expect(await errorOf(t.eval("return kumo.make_egress_pool { name = 'p', entries = { { name = 'a', extra = 1 } } }"))).toMatch(/unknown field `entries\[0\].extra`/);
    expect(await errorOf(t.eval("return kumo.make_egress_pool { name = 'p', entries = { { name = 'a', weight = -1 } } }"))).toMatch(/weight/);
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('get_egress_pool', function(name) return kumo.make_egress_pool { name = name, entries = { { name = 'a' }, { name = 'b', weight = 0 } } } end)
      kumo.on('get_egress_source', function(name) return kumo.make_egress_source { name = name } end)
    `);
    expect(await t.eval("return kumo.invoke_get_egress_pool('p')")).toEqual({ name: 'p', entries: [{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }], ttl: { secs: 60, nanos: 0 } });
  });
});

describe('get_egress_source / get_egress_pool events (§1.3) and invoke_get_* (§3.10)', () => {
  it('unspecified is built in and never reaches Lua (checklist 33)', async () => {
    const t = newLua();
    const src = (await t.eval("local s = kumo.invoke_get_egress_source('unspecified') return { name = s.name, null = type(s.source_address) }")) as Record<string, unknown>;
    expect(src).toEqual({ name: 'unspecified', null: 'userdata' });
    expect(await t.eval('return kumo.invoke_get_egress_pool().entries')).toEqual([{ name: 'unspecified', weight: 1 }]);
    expect(await t.eval("return kumo.invoke_get_egress_pool('unspecified').name")).toBe('unspecified');
  });

  it('without a handler: "Event get_egress_source has not been registered" naming the source', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("return kumo.invoke_get_egress_source('vmta-a')"))).toMatch(/get_egress_source 'vmta-a': Event get_egress_source has not been registered/);
    expect(await errorOf(t.eval("return kumo.invoke_get_egress_pool('warm')"))).toMatch(/resolving egress pool 'warm': Event get_egress_pool has not been registered/);
  });

  it('a plain table or nothing is a conversion error (checklist 8)', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('get_egress_source', function(name)
        if name == 'plain' then return { name = name } end
      end)
    `);
    expect(await errorOf(t.eval("return kumo.invoke_get_egress_source('plain')"))).toMatch(/error converting Lua table to userdata EgressSource/);
    expect(await errorOf(t.eval("return kumo.invoke_get_egress_source('none')"))).toMatch(/error converting Lua no value to userdata EgressSource/);
  });

  it('returns every field; the definition is cached for its ttl (checklist 6)', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    await t.load(`
      local kumo = require 'kumo'
      CALLS = 0
      kumo.on('get_egress_source', function(name)
        CALLS = CALLS + 1
        return kumo.make_egress_source { name = name, source_address = '192.0.2.10', ehlo_domain = name .. '.out.test', ttl = '5 minutes',
          socks5_proxy_server = '[::1]:1080', socks5_proxy_source_address = '10.0.0.1', socks5_proxy_username = 'u', socks5_proxy_password = { key_data = 'pw' } }
      end)
    `);
    const src = await t.eval("local s = kumo.invoke_get_egress_source('vmta-a') s.ha_proxy_server = tostring(s.ha_proxy_server) return s");
    expect(src).toMatchObject({
      name: 'vmta-a', source_address: '192.0.2.10', ehlo_domain: 'vmta-a.out.test', socks5_proxy_server: '[::1]:1080',
      socks5_proxy_username: 'u', socks5_proxy_password: { key_data: 'pw' }, ttl: { secs: 300, nanos: 0 },
    });
    expect(String((src as Record<string, unknown>).ha_proxy_server)).toMatch(/^userdata/); // the null sentinel
    await t.eval("kumo.invoke_get_egress_source('vmta-a')");
    expect(await t.eval('return CALLS')).toBe(1);
    await clock.advance(299_000);
    await t.eval("kumo.invoke_get_egress_source('vmta-a')");
    expect(await t.eval('return CALLS')).toBe(1);
    await clock.advance(2_000);
    await t.eval("kumo.invoke_get_egress_source('vmta-a')");
    expect(await t.eval('return CALLS')).toBe(2);
  });

  it('resolving a pool resolves every member; one bad member fails the pool', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('get_egress_pool', function(name)
        return kumo.make_egress_pool { name = name, entries = { { name = 'good' }, { name = 'bad' } } }
      end)
      kumo.on('get_egress_source', function(name)
        if name == 'bad' then error('unknown egress source ' .. name) end
        return kumo.make_egress_source { name = name }
      end)
    `);
    expect(await errorOf(t.eval("return kumo.invoke_get_egress_pool('p')"))).toMatch(/resolving egress pool 'p': get_egress_source 'bad': .*unknown egress source bad/);
    const resolver = t.ctx.require(EGRESS_RESOLVER, 'test');
    expect((await resolver.source('good')).name).toBe('good');
  });
});
