import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua } from '../helpers/lua.ts';

async function run(code: string) {
  return newLua().eval(`local utils = require 'policy-extras.policy_utils'\n${code}`);
}

async function errorOf(code: string) {
  return run(`local ok, err = pcall(function() ${code} end)\nassert(not ok, 'expected an error')\nreturn tostring(err)`);
}

describe('policy-extras.policy_utils', () => {
  it('merge_into copies src keys over dest, tolerates a nil src and returns dest', async () => {
    expect(await run(`
      local dest = { a = 1, b = 2 }
      local r = utils.merge_into({ b = 3, c = 4 }, dest)
      utils.merge_into(nil, dest)
      return { rawequal(r, dest), dest }
    `)).toEqual([true, { a: 1, b: 3, c: 4 }]);
  });

  it('merge_into is shallow; deep_merge_into merges nested tables', async () => {
    expect(await run(`
      local a = { headers = { x = 1 } }
      utils.merge_into({ headers = { y = 2 } }, a)
      local b = { headers = { x = 1 } }
      utils.deep_merge_into({ headers = { y = 2 } }, b)
      return { a.headers, b.headers }
    `)).toEqual([{ y: 2 }, { x: 1, y: 2 }]);
  });

  it('merge_into names a bad argument', async () => {
    expect(await errorOf(`utils.merge_into({ a = 1 }, nil)`)).toMatch(/merge_into: the destination table \(argument #2\) is nil/);
    expect(await errorOf(`utils.merge_into('x', {})`)).toMatch(/merge_into: argument #1 must be a table, got string/);
  });

  it('merge builds a new table, later arguments winning', async () => {
    expect(await run(`local a = { x = 1 }\nlocal m = utils.merge(a, nil, { x = 2, y = 3 })\nreturn { m, a.x }`)).toEqual([{ x: 2, y: 3 }, 1]);
  });

  it('copies tables shallowly and deeply (cycles included)', async () => {
    expect(await run(`
      local t = { inner = { 1, 2 } }
      t.self = t
      local s, d = utils.shallow_copy(t), utils.deep_copy(t)
      return { rawequal(s.inner, t.inner), rawequal(d.inner, t.inner), rawequal(d.self, d), d.inner[2] }
    `)).toEqual([true, false, true, 2]);
  });

  it('table helpers: contains, keys (sorted), len, is_array, to_set', async () => {
    expect(await run(`return {
      utils.table_contains({ 'a', 'b' }, 'b'), utils.table_contains({ x = 'v' }, 'v'), utils.table_contains({ 'a' }, 'z'), utils.table_contains(nil, 'a'),
      utils.table_keys({ b = 1, a = 2, [2] = 0, [1] = 0 }), utils.table_len({ 1, 2, x = 3 }),
      utils.is_array({ 1, 2 }), utils.is_array({ 1, x = 2 }), utils.is_array({}), utils.to_set({ 'a' }).a
    }`)).toEqual([true, true, false, false, [1, 2, 'a', 'b'], 3, true, false, true, true]);
  });

  it('string helpers match literally', async () => {
    expect(await run(`return {
      utils.starts_with('a.log_hook', 'a.'), utils.starts_with('abc', '.'), utils.ends_with('x.log_hook', '.log_hook'), utils.ends_with('x', '%'),
      utils.split('a, b,,c', ',', true), utils.split('a.b', '.'), utils.trim('  x  ')
    }`)).toEqual([true, false, true, false, ['a', 'b', 'c'], ['a', 'b'], 'x']);
  });

  it('assert helpers raise messages that name the value', async () => {
    expect(await run(`return utils.assert_type('x', 'string|table', 'url')`)).toBe('x');
    expect(await errorOf(`utils.assert_type(5, 'string|table', 'url')`)).toMatch(/url must be a string or table, got number$/);
    expect(await errorOf(`utils.assert_one_of('x', { 'Ttl', 'Epoch' }, 'strategy')`)).toMatch(/strategy must be one of "Ttl", "Epoch", got x$/);
    expect(await errorOf(`utils.assert_known_keys({ name = 1, nmae = 2 }, { 'name', 'url' }, 'options')`)).toMatch(/options: unknown key `nmae`, expected one of name, url$/);
    expect(await errorOf(`utils.expect(false, 'need %d items', 3)`)).toMatch(/need 3 items$/);
  });

  it('is_validating reflects _VALIDATING_CONFIG', async () => {
    expect(await run(`local a = utils.is_validating()\n_VALIDATING_CONFIG = true\nreturn { a, utils.is_validating() }`)).toEqual([false, true]);
  });

  it('load_json_or_toml_file picks the loader by extension', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-utils-'));
    const t = newLua();
    const stub = `
      kumo.json_load = kumo.json_load or function(p) return { via = 'json', path = p } end
      kumo.toml_load = kumo.toml_load or function(p) return { via = 'toml', path = p } end`;
    fs.writeFileSync(path.join(dir, 'a.json'), '{"via":"json"}');
    fs.writeFileSync(path.join(dir, 'a.toml'), 'via = "toml"\n');
    const r = (await t.eval(`${stub}
      local utils = require 'policy-extras.policy_utils'
      return { utils.load_json_or_toml_file('${dir}/a.json').via, utils.load_json_or_toml_file('${dir}/a.toml').via }`)) as string[];
    expect(r).toEqual(['json', 'toml']);
  });

  it('load_json_or_toml_file returns an inline table unchanged', async () => {
    expect(await run(`local t = { a = 1 }\nreturn rawequal(utils.load_json_or_toml_file(t), t)`)).toBe(true);
  });

  it('equals compares deeply; table_is_empty; recursive_merge_into merges nested tables', async () => {
    expect(await run(`
      local d = { a = { x = 1 } }
      utils.recursive_merge_into({ a = { y = 2 } }, d)
      return {
        utils.equals({ a = { 1, 2 }, b = 'x' }, { b = 'x', a = { 1, 2 } }), utils.equals({ a = { 1 } }, { a = { 1, 2 } }),
        utils.equals({ a = 1 }, { a = 1, b = 2 }), utils.equals(1, 1), utils.equals('1', 1),
        utils.table_is_empty({}), utils.table_is_empty({ x = false }), d.a,
      }
    `)).toEqual([true, false, false, true, false, true, false, { x: 1, y: 2 }]);
  });

  it('assert_eq / assert_ne / assert_matches raise with both values shown', async () => {
    expect(await run(`utils.assert_eq({ 1, { a = 2 } }, { 1, { a = 2 } }) utils.assert_ne(1, 2) utils.assert_matches('abc', '^a') return true`)).toBe(true);
    expect(await errorOf(`utils.assert_eq({ a = 1 }, { a = 2 }, 'config')`)).toMatch(/config: expected \{\n {2}a = 2,\n\}, got \{\n {2}a = 1,\n\}$/);
    expect(await errorOf(`utils.assert_ne('x', 'x')`)).toMatch(/expected a value other than "x"$/);
    expect(await errorOf(`utils.assert_matches('abc', '^b')`)).toMatch(/expected "abc" to match "\^b"$/);
  });

  it('dumps renders sorted keys, arrays without keys, and cycles', async () => {
    expect(await run(`local t = { b = 1, a = { 'x', 2 }, ['not id'] = true }\nt.self = t\nreturn utils.dumps(t)`)).toBe(
      '{\n  a = {\n    "x",\n    2,\n  },\n  b = 1,\n  ["not id"] = true,\n  self = <cycle>,\n}',
    );
  });

  it('split_ip_port handles v4, bracketed v6, bare addresses and rejects junk', async () => {
    expect(await run(`
      local out = {}
      for _, s in ipairs { '10.0.0.1:25', '[::1]:2525', '[::1]', '10.0.0.1', '2001:db8::1' } do
        local ip, port = utils.split_ip_port(s)
        out[#out + 1] = { ip, port or false }
      end
      return out
    `)).toEqual([['10.0.0.1', 25], ['::1', 2525], ['::1', false], ['10.0.0.1', false], ['2001:db8::1', false]]);
    expect(await errorOf(`utils.split_ip_port('host:port')`)).toMatch(/cannot parse "host:port" as address:port/);
  });
});
