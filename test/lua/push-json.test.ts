/**
 * pushJson builds tables directly through the fork's lhost API: the tables
 * must be the ones the API-stack path built (values, types, key lookups,
 * iteration order, array marker, null sentinel), fresh on every call.
 */
import { describe, expect, it } from 'vitest';
import { lua } from '../../src/lua/fengari.ts';
import { LUA_NULL, pushJson, type PushJsonOptions } from '../../src/lua/marshal.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { JsonFloat, type JsonValue } from '../../src/util/json.ts';
import { newLua, type TestContext } from '../helpers/lua.ts';

function setGlobal(t: TestContext, name: string, v: JsonValue | undefined, options?: PushJsonOptions): void {
  const L = t.ctx.runtime.L;
  pushJson(L, v, options);
  lua.lua_setglobal(L, keyBytes(name));
}

describe('pushJson through lhost', () => {
  it('keeps integer and float types, -0, wide integers and 1e16', async () => {
    const t = newLua();
    setGlobal(t, 'v', { big: 2 ** 40 + 1, neg: -(2 ** 31) - 5, f: new JsonFloat(3), half: 2.5, negz: -0, fz: new JsonFloat(-0), e16: 1e16, huge: 2 ** 60, max: Number.MAX_SAFE_INTEGER });
    expect(
      await t.eval(`return { math.type(v.big), v.big == 2^40 + 1, math.type(v.neg), v.neg, math.type(v.f), tostring(v.f), tostring(v.half),
        math.type(v.negz), tostring(v.negz), tostring(1 / v.negz), math.type(v.fz), tostring(v.fz), math.type(v.e16), math.type(v.huge), tostring(v.huge), math.type(v.max), v.max == math.maxinteger }`),
    ).toEqual(['integer', true, 'integer', -(2 ** 31) - 5, 'float', '3.0', '2.5', 'integer', '0', 'inf', 'float', '-0.0', 'float', 'float', '1.1529215046068e+18', 'integer', true]);
  });

  it('strings: ASCII, non-ASCII, NUL bytes and the empty string have their bytes and compare equal to literals', async () => {
    const t = newLua();
    setGlobal(t, 'v', { a: 'Delivery', u: 'héllo ✓ 𝄞', z: 'a\u0000b', e: '', long: 'x'.repeat(100) + 'é' });
    expect(
      await t.eval(`return { v.a == 'Delivery', #v.u, v.u == 'héllo ✓ 𝄞', #v.z, v.z == 'a\\0b', v.e == '', #v.e, #v.long, v.long:sub(-2) == 'é',
        ({ [v.a] = 1 }).Delivery, ({ Delivery = 2 })[v.a] }`),
    ).toEqual([true, 15, true, 3, true, true, 0, 102, true, 1, 2]);
  });

  it('keys: non-ASCII and numeric-looking keys index like Lua-made strings; order is the object key order', async () => {
    const t = newLua();
    setGlobal(t, 'v', { zeta: 1, 'clé': 2, '10': 3, '': 4, alpha: 5, '2': 6 });
    expect(await t.eval(`return { v.zeta, v['clé'], v['10'], v[''], v.alpha, v[10] == nil, v['2'] }`)).toEqual([1, 2, 3, 4, 5, true, 6]);
    expect(await t.eval(`local ks = {} for k in pairs(v) do ks[#ks + 1] = k end return table.concat(ks, ',')`)).toBe('2,10,zeta,clé,,alpha');
    // A key taken from the pushed table works as a key of Lua-made tables.
    expect(await t.eval(`local t = {} for k, x in pairs(v) do t[k] = x end return { t.zeta, t['clé'], t['10'] }`)).toEqual([1, 2, 3]);
  });

  it('arrays: holes for null, the marker metatable (or none), nested empty tables', async () => {
    const t = newLua();
    setGlobal(t, 'v', { list: [1, null, 'x', [], {}], nested: [[[]]] });
    expect(
      await t.eval(`return { #v.list, v.list[1], v.list[2] == nil, v.list[3], getmetatable(v.list), getmetatable(v.list[4]), getmetatable(v.list[5]) == nil,
        next(v.list[4]) == nil, next(v.list[5]) == nil, getmetatable(v.nested[1][1]), select('#', pcall(setmetatable, v.list, {})) }`),
    ).toEqual([5, 1, true, 'x', false, false, true, true, true, false, 2]);
    setGlobal(t, 'plain', [1, 2], { arrayMarker: false });
    expect(await t.eval('return getmetatable(plain) == nil and #plain')).toBe(2);
  });

  it("each state's arrays carry that state's own marker (empty arrays stay arrays on marker-keeping paths)", async () => {
    const a = newLua();
    const b = newLua();
    setGlobal(a, 'v', { e: [] });
    setGlobal(b, 'v', { e: [] });
    setGlobal(a, 'w', []);
    expect(await a.eval('return v.e')).toEqual([]);
    expect(await b.eval('return v.e')).toEqual([]);
    expect(await a.eval('return w')).toEqual([]);
  });

  it('null: absent members and holes by default, the sentinel when asked, nil at the top', async () => {
    const t = newLua();
    setGlobal(t, 'v', { a: null, b: [null, 1], c: undefined } as unknown as JsonValue);
    expect(await t.eval(`local n = 0 for _ in pairs(v) do n = n + 1 end return { n, v.a == nil, v.b[1] == nil, v.b[2] }`)).toEqual([1, true, true, 1]);
    setGlobal(t, 's', { a: null, b: [null] }, { nullSentinel: true });
    expect(await t.eval(`return { type(s.a), type(s.b[1]), s.a == s.b[1] }`)).toEqual(['userdata', 'userdata', true]);
    expect(LUA_NULL).toBeTruthy();
    setGlobal(t, 'top', null);
    expect(await t.eval('return top == nil')).toBe(true);
  });

  it('every call builds fresh tables: changing one pushed record leaves the next one alone', async () => {
    const t = newLua();
    const rec = { type: 'Delivery', response: { code: 250 }, list: [1] };
    setGlobal(t, 'a', rec);
    setGlobal(t, 'b', rec);
    expect(await t.eval(`a.type = 'Bounce' a.response.code = 550 a.list[2] = 2 rawset(a, 'extra', true) return { b.type, b.response.code, #b.list, b.extra == nil, a ~= b }`)).toEqual([
      'Delivery',
      250,
      1,
      true,
      true,
    ]);
  });
});
