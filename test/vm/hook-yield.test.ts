/**
 * The VM fork (vendor/fengari) lets a count hook yield with no values, as
 * Lua 5.3/5.4 do (lua_yield from a hook; ldebug.js luaG_traceexec), and the
 * thread resumes exactly where it stopped. The runtime's time slicing
 * (src/lua/runtime.ts) relies on this.
 */
import { describe, expect, it } from 'vitest';
import { lua, lauxlib, lualib, to_luastring, LUA_OK, LUA_YIELD, LUA_MASKCOUNT, type LuaState } from '../../src/lua/fengari.ts';
import { toJson } from '../../src/lua/marshal.ts';

/** Runs `code` in a fresh thread; with `yieldEvery`, a count hook yields it every that many instructions where it can. */
function run(code: string, yieldEvery?: number): { result: unknown; yields: number; refused: number } {
  const L = lauxlib.luaL_newstate() as LuaState;
  lualib.luaL_openlibs(L);
  let yields = 0;
  let refused = 0;
  if (yieldEvery) {
    lua.lua_sethook(L, (Lh: LuaState) => {
      if (!lua.lua_isyieldable(Lh)) return void refused++;
      yields++;
      lua.lua_yield(Lh, 0);
    }, LUA_MASKCOUNT, yieldEvery);
  }
  const co = lua.lua_newthread(L) as LuaState;
  if (lauxlib.luaL_loadstring(co, to_luastring(code)) !== LUA_OK) throw new Error(lua.lua_tojsstring(co, -1));
  for (let i = 0; i < 1_000_000; i++) {
    const status = lua.lua_resume(co, null, 0);
    if (status === LUA_OK) return { result: toJson(co, 1), yields, refused };
    if (status !== LUA_YIELD) throw new Error(lua.lua_tojsstring(co, -1));
    expect(lua.lua_gettop(co)).toBe(0); // a hook yield carries no values
  }
  throw new Error('did not finish');
}

const PROGRAM = `
  local s = 0
  for i = 1, 20000 do s = (s + i * 7) % 100003 end
  local t = {}
  for i = 1, 300 do t[#t + 1] = tostring(i) .. 'x' end
  local ok, err = pcall(function()
    local u = 0
    for i = 1, 5000 do u = u + i end
    error('after ' .. u, 0)
  end)
  local mt = setmetatable({}, { __index = function(_, k) local n = 0 for i = 1, 3000 do n = n + 1 end return k .. n end })
  local sorted = { 5, 3, 9, 1 }
  table.sort(sorted, function(a, b) for i = 1, 200 do end return a < b end)
  local g = string.gsub('abc', '%w', function(c) for i = 1, 300 do end return c:upper() end)
  return { s = s, len = #table.concat(t), ok = ok, err = err, idx = mt.key, sorted = sorted, g = g }
`;

describe('a count hook that yields', () => {
  it('resumes where it stopped: same results as without yields, under pcall too', () => {
    const plain = run(PROGRAM);
    const sliced = run(PROGRAM, 100);
    expect(sliced.result).toEqual(plain.result);
    expect(plain.result).toMatchObject({ ok: false, err: 'after 12502500', idx: 'key3000', sorted: [1, 3, 5, 9], g: 'ABC' });
    expect(sliced.yields).toBeGreaterThan(100);
    // Inside the __index function, the sort comparator and the gsub callback Lua cannot yield.
    expect(sliced.refused).toBeGreaterThan(0);
  });

  it('keeps firing after a pcall in a coroutine caught an error (upstream lost hooks there)', () => {
    const { yields } = run(`pcall(error, 'caught') local n = 0 for i = 1, 10000 do n = n + 1 end return n`, 100);
    expect(yields).toBeGreaterThan(100);
  });
});
