import { describe, expect, it } from 'vitest';
import { LuaRuntime } from '../../src/lua/runtime.ts';
import { lua } from '../../src/lua/fengari.ts';
import { pushJson, toJson, LUA_NULL } from '../../src/lua/marshal.ts';
import { JsonFloat, toJsonText, fromJsonText, type JsonValue } from '../../src/util/json.ts';
import { keyBytes } from '../../src/lua/strings.ts';

const rt = new LuaRuntime({ print: () => undefined });
const toText = (code: string, keepArrayMarker = false) =>
  rt.evaluate(code, (co) => toJsonText(toJson(co, 1, { keepArrayMarker })), 'marshal');

describe('Lua → JSON (lua-api.md §14.1)', () => {
  it('keeps the integer/float distinction', async () => {
    expect(await toText('return {1, 1.0, 10/2, 2.5, 3 // 1}')).toBe('[1,1.0,5.0,2.5,3]');
  });
  it('maps NaN and infinities to null', async () => {
    expect(await toText('return {0/0, 1/0, -1/0}')).toBe('[null,null,null]');
  });
  it('treats tables with a positive raw length as arrays, dropping other keys', async () => {
    expect(await toText('return {1, 2, x = 3}')).toBe('[1,2]');
    expect(await toText('local t = {1, nil, 3}; return t')).toBe('[1,null,3]');
  });
  it('turns other tables into objects with string keys', async () => {
    expect(await toText('return {}')).toBe('{}');
    expect(await toText("return {[5] = 'a'}")).toBe('{"5":"a"}');
  });
  it('encodes invalid UTF-8 strings as byte arrays', async () => {
    expect(await toText('return {s = "\\255\\0", ok = "é"}')).toMatch(/^\{("s":\[255,0\],"ok":"é"|"ok":"é","s":\[255,0\])\}$/);
  });
  it('keeps empty arrays only on marker-preserving paths', async () => {
    rt.evaluate('return nil', () => 0);
    const L = rt.L;
    pushJson(L, [] as JsonValue[]);
    lua.lua_setglobal(L, keyBytes('empty_array'));
    expect(await toText('return empty_array', true)).toBe('[]');
    expect(await toText('return empty_array', false)).toBe('{}');
    expect(await toText('return getmetatable(empty_array)')).toBe('false');
  });
  it('rejects functions and deep recursion', async () => {
    await expect(toText('return {f = print}')).rejects.toThrow(/cannot serialise a function/);
    await expect(toText('local t = {}; t.self = t; return t')).rejects.toThrow(/recursive/);
  });
});

describe('JSON → Lua (lua-api.md §14.2)', () => {
  it('drops null members, leaves holes for null elements, marks arrays', async () => {
    const L = rt.L;
    pushJson(L, fromJsonText('{"a":null,"b":[1,null,3],"c":1.0,"d":{"e":"f"}}'));
    lua.lua_setglobal(L, keyBytes('parsed'));
    const result = await rt.evaluate(
      `return { a = parsed.a == nil, b2 = parsed.b[2] == nil, b3 = parsed.b[3], ctype = math.type(parsed.c),
                marker = getmetatable(parsed.b), plain = getmetatable(parsed.d) == nil,
                protected = select(2, pcall(setmetatable, parsed.b, {})) }`,
      (co) => toJson(co, 1),
    );
    expect(result).toEqual({ a: true, b2: true, b3: 3, ctype: 'float', marker: false, plain: true, protected: 'cannot change a protected metatable' });
  });
  it('pushes the null sentinel when asked, which converts back to null', async () => {
    const L = rt.L;
    pushJson(L, { x: null }, { nullSentinel: true });
    lua.lua_setglobal(L, keyBytes('withnull'));
    const r = await rt.evaluate('return {type(withnull.x), withnull.x and true, withnull}', (co) => toJson(co, 1));
    expect(r).toEqual(['userdata', true, { x: null }]);
    expect(LUA_NULL).toBeTruthy();
  });
  it('round-trips floats through JSON text', () => {
    expect(toJsonText(fromJsonText('[1,1.0,1.5,1e300]'))).toBe('[1,1.0,1.5,1e+300]');
    expect(fromJsonText('1.0')).toBeInstanceOf(JsonFloat);
  });
});
