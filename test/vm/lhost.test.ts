/**
 * The fork's host-side table API (vendor/fengari/src/lhost.js) and the
 * typed-array copy in lua_pushlstring (defs.js luastring_from).
 */
import { describe, expect, it } from 'vitest';
import { lua } from '../../src/lua/fengari.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import {
  T_LNGSTR,
  T_NUMINT,
  hostFirst,
  hostGetI,
  hostGetN,
  hostIndex,
  hostInt,
  hostKey,
  hostNewTable,
  hostPush,
  hostSetI,
  hostSetKey,
  hostString,
  hostTableValue,
  stringBytes,
  type HostTable,
} from '../../src/lua/host-values.ts';
import { newLua } from '../helpers/lua.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('lhost', () => {
  it('builds a table Lua reads like its own: keys replace, integers index, order is insertion order', async () => {
    const t = newLua();
    const L = t.ctx.runtime.L;
    const tab = hostNewTable(L);
    const k = hostKey(bytes('name'));
    hostSetKey(tab, k, hostString(bytes('first')));
    hostSetI(tab, 1, hostInt(10));
    hostSetI(tab, 2, hostInt(20));
    hostSetKey(tab, hostKey(bytes('name')), hostString(bytes('second'))); // same key, another TString
    hostSetI(tab, 1, hostInt(11));
    hostPush(L, hostTableValue(tab));
    lua.lua_setglobal(L, keyBytes('built'));
    expect(await t.eval(`local ks = {} for k, v in pairs(built) do ks[#ks + 1] = tostring(k) .. '=' .. tostring(v) end return table.concat(ks, ' ')`)).toBe('name=second 1=11 2=20');
    expect(await t.eval('return { #built, built.name }')).toEqual([2, 'second']);
  });

  it('reads a Lua-made table in place: length, integer entries, entries in lua_next order', async () => {
    const t = newLua();
    const L = t.ctx.runtime.L;
    await t.eval(`made = { 'a', 'b', 'c' } made.x = 1 made.y = 2 made.x = nil`);
    lua.lua_getglobal(L, keyBytes('made'));
    const tab = hostIndex(L, -1).value as HostTable;
    expect(hostGetN(tab)).toBe(3);
    expect(new TextDecoder().decode(stringBytes(hostGetI(tab, 2)))).toBe('b');
    expect(hostGetI(tab, 4).type).toBe(0);
    const seen: string[] = [];
    for (let e = hostFirst(tab); e; e = e.n) {
      seen.push(e.key.type === T_NUMINT ? String(e.key.value) : e.key.type === T_LNGSTR || e.key.type === 4 ? new TextDecoder().decode(stringBytes(e.key)) : '?');
    }
    const order = await t.eval(`local ks = {} for k in pairs(made) do ks[#ks + 1] = tostring(k) end return ks`);
    expect(seen).toEqual(order);
    expect([...seen].sort()).toEqual(['1', '2', '3', 'y']);
    lua.lua_pop(L, 1);
  });

  it('tables keep their dead-key bookkeeping: clearing fields while iterating, next after a removed key', async () => {
    const t = newLua();
    expect(
      await t.eval(`
        local tab = {}
        for i = 1, 50 do tab['k' .. i] = i end
        local seen = 0
        for k, v in pairs(tab) do seen = seen + 1 tab[k] = nil end
        local left = next(tab)
        tab.a = 1 tab.b = 2 tab.c = 3
        local k1 = next(tab)
        tab[k1] = nil
        local k2 = next(tab, k1)
        tab.a = 9
        local ok, err = pcall(next, tab, 'never')
        return { seen, left == nil, k2 ~= nil and k2 ~= k1, ok, tostring(err):match("invalid key to 'next'") ~= nil }`),
    ).toEqual([50, true, true, false, true]);
  });

  it('lua_pushlstring copies the bytes it is given', async () => {
    const t = newLua();
    const L = t.ctx.runtime.L;
    const src = bytes('abc');
    lua.lua_pushlstring(L, src, 2);
    src[0] = 0x7a;
    lua.lua_setglobal(L, keyBytes('copied'));
    expect(await t.eval('return copied')).toBe('ab');
  });

  it('string keys and comparisons follow the bytes (lstring.js luaS_hash)', async () => {
    const t = newLua();
    // Unpadded hex made these two strings one table key, and ordered "\x0f" after "\x10".
    expect(await t.eval(String.raw`local k = { ['\1#'] = 'a', ['\18\3'] = 'b' } return { k['\1#'], k['\18\3'] }`)).toEqual(['a', 'b']);
    expect(await t.eval(String.raw`return { '\15' < '\16', '\255' > '\128', 'a\0b' < 'a\1', 'ab' < 'abc', '\200x' == '\200' .. 'x' }`)).toEqual([true, true, true, true, true]);
    expect(await t.eval(String.raw`local s = {} for i = 0, 255 do s[#s + 1] = string.char(255 - i) end table.sort(s) local ok = true for i = 1, 256 do ok = ok and s[i]:byte() == i - 1 end return ok`)).toBe(true);
  });
});
