import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const run = (code: string) => evalLua(`return ${code}`);
const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);
const R = (p: string) => `kumo.regex.compile(${JSON.stringify(p)})`;

describe('kumo.regex', () => {
  it('matches and finds', async () => {
    expect(await run(`{ ${R('b+')}:is_match('abbbc'), ${R('^b')}:is_match('abc'), ${R('b+')}:find('abbbc'), ${R('x')}:find('abc') == nil }`)).toEqual([true, false, 'bbb', true]);
    expect(await run(`${R('[0-9]+')}:find_all('a1b22c333')`)).toEqual(['1', '22', '333']);
  });
  it('captures by index and name, leaving out groups that did not take part', async () => {
    expect(await run(`(function() local c = ${R('(?P<user>[^@]+)@(?<dom>.+)|(x)')}:captures('me@example.com')
      return { c[0], c[1], c[2], c[3] == nil, c.user, c.dom } end)()`)).toEqual(['me@example.com', 'me', 'example.com', true, 'me', 'example.com']);
    expect(await run(`${R('z')}:captures('abc') == nil`)).toBe(true);
  });
  it('captures the typing.lua deserialize error pattern', async () => {
    expect(await run(`${R('deserialize error: (.*), while processing')}:captures('deserialize error: missing field \`x\`, while processing {}')[1]`)).toBe('missing field `x`');
  });
  it('replaces with Rust replacement syntax', async () => {
    expect(await run(`${R('(\\w+) (\\w+)')}:replace('hello world', '$2 $1')`)).toBe('world hello');
    expect(await run(`${R('(?P<a>\\d)')}:replace_all('a1b2', '<\${a}>')`)).toBe('a<1>b<2>');
    expect(await run(`${R('(?P<a>\\d)')}:replace_all('a1b2', '$a')`)).toBe('a1b2');
    expect(await run(`${R('(\\d)')}:replace_all('a1', '$1x|$$')`)).toBe('a|$');
    expect(await run(`${R('\\d')}:replacen('1234', 2, 'x')`)).toBe('xx34');
    expect(await run(`${R('\\d')}:replacen('1234', 0, 'x')`)).toBe('xxxx');
  });
  it('splits keeping empty edge pieces', async () => {
    expect(await run(`${R(',')}:split(',a,,b,')`)).toEqual(['', 'a', '', 'b', '']);
  });
  it('uses Unicode classes and Rust . semantics', async () => {
    expect(await run(`${R('^\\w+$')}:is_match('héllo')`)).toBe(true);
    expect(await run(`${R('^\\d$')}:is_match('٣')`)).toBe(true);
    expect(await run(`${R('a.b')}:is_match('a\\rb')`)).toBe(true);
    expect(await run(`${R('a.b')}:is_match('a\\nb')`)).toBe(false);
    expect(await run(`${R('(?s)a.b')}:is_match('a\\nb')`)).toBe(true);
    expect(await run(`${R('\\bé')}:is_match('x é')`)).toBe(true);
    expect(await run(`${R('(?i)HELLO')}:is_match('hello')`)).toBe(true);
    expect(await run(`${R('(?m)^b$')}:is_match('a\\nb\\nc')`)).toBe(true);
    expect(await run(`${R('^b$')}:is_match('a\\nb\\nc')`)).toBe(false);
    expect(await run(`${R('[[:digit:]]+')}:find('ab12')`)).toBe('12');
    expect(await run(`${R('\\x{41}\\pL')}:is_match('Ab')`)).toBe(true);
  });
  it('supports fancy-regex look-around and back-references', async () => {
    expect(await run(`${R('foo(?=bar)')}:find('foobar')`)).toBe('foo');
    expect(await run(`${R('(?<!x)y')}:find_all('xy ay')`)).toEqual(['y']);
    expect(await run(`${R('(a)\\1')}:is_match('aa')`)).toBe(true);
  });
  it('names unsupported constructs and reports syntax errors', async () => {
    expect(await err(`${R('a(?i)b')}`)).toMatch(/inline flag group \(\?i\).*not supported/);
    expect(await err(`${R('(?>a)')}`)).toMatch(/atomic groups/);
    expect(await err(`${R('[a-z&&[^aeiou]]')}`)).toMatch(/not supported/);
    expect(await err(`${R('a++')}`)).toMatch(/possessive/);
    expect(await err(`${R('(')}`)).toMatch(/^regex "\("/);
  });
  it('escapes meta characters', async () => {
    expect(await run(`kumo.regex.escape('a.b*c')`)).toBe('a\\.b\\*c');
    expect(await run(`${R('')}:is_match('')`)).toBe(true);
    expect(await run(`kumo.regex.compile(kumo.regex.escape('1+1=2')):is_match('1+1=2')`)).toBe(true);
  });
});
