/**
 * json-reader.ts (json_parse's direct path) builds the same Lua values as the
 * general path (parseJson + pushJson with the array marker) — types, key
 * order, holes, marker — and gives up where only the general path can answer.
 */
import { describe, expect, it } from 'vitest';
import { lua, type LuaState } from '../../src/lua/fengari.ts';
import { arrayMarkerTable, pushJson } from '../../src/lua/marshal.ts';
import { luaFromJsonText } from '../../src/lua/json-reader.ts';
import { hostPush } from '../../src/lua/host-values.ts';
import { parseJson } from '../../src/kumo/support/json-text.ts';
import { argString } from '../../src/lua/args.ts';
import { keyBytes, toBytes } from '../../src/lua/strings.ts';
import { newLua } from '../helpers/lua.ts';

function setup() {
  const t = newLua();
  const L = t.ctx.runtime.L;
  const fn = (name: string, f: (L: LuaState) => number) => {
    lua.lua_pushcfunction(L, f);
    lua.lua_setglobal(L, keyBytes(name));
  };
  fn('direct', (Ls) => {
    // With the Lua string's bytes (used when the text is all ASCII) unless the second argument is true.
    const v = luaFromJsonText(Ls, argString(Ls, 1), arrayMarkerTable(Ls), lua.lua_toboolean(Ls, 2) ? undefined : toBytes(Ls, 1));
    if (v === false) lua.lua_pushstring(Ls, keyBytes('gave up'));
    else if (v === undefined) lua.lua_pushnil(Ls);
    else hostPush(Ls, v);
    return 1;
  });
  fn('general', (Ls) => (pushJson(Ls, parseJson(argString(Ls, 1)), { arrayMarker: true }), 1));
  return t;
}

/** A Lua-side description of a value: types, pairs order, metatables. */
const DUMP = `
local function dump(v)
  local ty = type(v)
  if ty == 'number' then return math.type(v) .. ':' .. tostring(v) end
  if ty == 'string' then return 's:' .. v end
  if ty ~= 'table' then return ty .. ':' .. tostring(v) end
  local parts = { 'mt=' .. tostring(getmetatable(v)), '#' .. #v }
  for k, x in pairs(v) do parts[#parts + 1] = dump(k) .. '=' .. dump(x) end
  return '{' .. table.concat(parts, ',') .. '}'
end`;

const SAME = [
  '{"type":"Delivery","size":2841,"load":0.25,"r":{"code":250,"enh":{"class":2}},"a":[1,null,3],"e":[],"o":{}}',
  '[1, 1.0, 1e2, 1E+2, 1.5e-3, -0, -0.0, 0, -1, 9007199254740991, 9007199254740992, 123456789012345678, 1' + '0'.repeat(400) + ']',
  '{"s":"h\\u00e9llo \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t","u":"héllo ✓","empty":"","n":null,"t":true,"f":false}',
  '  {  "a" : [ [ [ ] ] , { } ] , "b" : null , "c" : [ null , null ] }  ',
  '"top"',
  '{"s":"caf\\u00e9 \\n \\"x\\"","p":"plain","e":"","l":"' + 'x'.repeat(100) + '"}',
  '42',
  '-7.25',
  'null',
  'true',
  '[{"x":1},{"x":2}]',
  '{"-1":1,"a1":2,"":3,"__proto__":4}',
];

const GIVES_UP = [
  '{"1":1,"a":2}', // JS objects order array-index keys first
  '{"a":1,"a":2}',
  '{"a":null,"b":1,"a":2}',
  '{"a":1,"a":null}',
  '[1,]',
  '{"a":1,}',
  '{"a" 1}',
  '01',
  '1.',
  '-',
  '1e',
  '1.5e999',
  '"\\ud800"',
  '"\\udc00"',
  '"\\ud800\\u0041"',
  '"\\udc00\\udc00"',
  '[1 22]',
  '{"a":1x"b":2}',
  '[01]',
  '"\\x"',
  '"\\u12g4"',
  '"unterminated',
  '"tab\there"',
  '[1] x',
  '',
  'nul',
  'tru',
  '[' + '['.repeat(128) + ']'.repeat(128) + ']',
];

describe('luaFromJsonText', () => {
  it('builds what the general path builds', async () => {
    const t = setup();
    for (const text of SAME) {
      const r = await t.eval(`${DUMP}\nlocal text = ${JSON.stringify(text)}\nlocal d, dt = direct(text), direct(text, true)\nassert(d ~= 'gave up' and dt ~= 'gave up', 'gave up')\nreturn { dump(d), dump(dt), dump(general(text)) }`);
      const [d, dt, g] = r as [string, string, string];
      expect(d, text).toBe(g);
      expect(dt, text).toBe(g);
    }
  });

  it('nests up to the general parser limit', async () => {
    const t = setup();
    const text = '['.repeat(128) + ']'.repeat(128);
    expect(await t.eval(`local v = direct(${JSON.stringify(text)}) for i = 1, 127 do v = v[1] end return { type(v), next(v) == nil }`)).toEqual(['table', true]);
  });

  it('gives up on what a JS object would reorder, duplicate keys and every error', async () => {
    const t = setup();
    for (const text of GIVES_UP) {
      expect(await t.eval(`return direct(${JSON.stringify(text)})`), text).toBe('gave up');
    }
  });

  it('kumo.serde.json_parse: errors and comments still come from the general path', async () => {
    const t = newLua();
    expect(await t.eval(`return select(2, pcall(kumo.serde.json_parse, '{"a":1,}'))`)).toMatch(/trailing comma/);
    expect(await t.eval(`return select(2, pcall(kumo.serde.json_parse, '[1, 2'))`)).toMatch(/EOF while parsing a list/);
    expect(await t.eval(`local v = kumo.serde.json_parse('{"1":"x","a":1,"a":2, "u":"x/y"} // c') local ks = {} for k, x in pairs(v) do ks[#ks + 1] = k .. '=' .. x end return table.concat(ks, ' ')`)).toBe('1=x a=2 u=x/y');
    expect(await t.eval(`return select(2, pcall(kumo.serde.json_parse, '/* open'))`)).toMatch(/unterminated block comment/);
  });
});
