/**
 * A coroutine.resume that forwards host waits. When a user's own coroutine
 * calls an async host function, the HostOp it yields must travel up to the
 * runner instead of being returned to the user's resume as a stray value
 * (fengari-notes.md pitfall 5). The outer thread yields the same op; when the
 * runner resumes it, the continuation resumes the inner coroutine.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK, LUA_YIELD } from './fengari.ts';
import { isHostOp } from './host-function.ts';
import { keyBytes } from './strings.ts';

/**
 * Threads parked by the CPU-slice hook (runtime.ts). A hook may only yield
 * with no values, which looks like a bare coroutine.yield(); this mark tells
 * the two apart so a slice yield is never handed to user code as a result.
 */
const sliceParked = new WeakSet<LuaState>();

/** Called by the count hook right before it yields `L` to give up its slice. */
export function markSliceYield(L: LuaState): void {
  sliceParked.add(L);
}

/** True (once) when `L`'s last yield came from the slice hook, not from Lua code. */
export function takeSliceYield(L: LuaState): boolean {
  return sliceParked.delete(L);
}

function resumeStep(L: LuaState, co: LuaState, nargs: number): number {
  if (!lua.lua_checkstack(co, nargs)) {
    lua.lua_pushboolean(L, false);
    lua.lua_pushliteral(L, 'too many arguments to resume');
    return 2;
  }
  // A fresh coroutine holds its function; an empty LUA_OK thread has finished.
  if (lua.lua_status(co) === LUA_OK && lua.lua_gettop(co) === 0) {
    lua.lua_pushboolean(L, false);
    lua.lua_pushliteral(L, 'cannot resume dead coroutine');
    return 2;
  }
  lua.lua_xmove(L, co, nargs);
  let status = lua.lua_resume(co, L, nargs);
  // The slice hook parked `co`: pass the pause up so the runner can serve other
  // work, then carry on resuming it. Where L cannot yield, resume at once.
  while (status === LUA_YIELD && takeSliceYield(co)) {
    if (lua.lua_isyieldable(L)) {
      markSliceYield(L);
      return lua.lua_yieldk(L, 0, co, (Lk: LuaState, _s: number, inner: LuaState) => {
        lua.lua_settop(Lk, 0);
        return resumeStep(Lk, inner, 0);
      });
    }
    status = lua.lua_resume(co, L, 0);
  }
  if (status === LUA_YIELD && lua.lua_gettop(co) >= 1) {
    const op = isHostOp(co, -1);
    if (op) {
      lua.lua_settop(co, 0);
      lua.lua_pushlightuserdata(L, op);
      return lua.lua_yieldk(L, 1, co, (Lk: LuaState, _s: number, inner: LuaState) => {
        lua.lua_settop(Lk, 0);
        return resumeStep(Lk, inner, 0);
      });
    }
  }
  if (status === LUA_OK || status === LUA_YIELD) {
    const nres = lua.lua_gettop(co);
    if (!lua.lua_checkstack(L, nres + 1)) {
      lua.lua_pop(co, nres);
      lua.lua_pushboolean(L, false);
      lua.lua_pushliteral(L, 'too many results to resume');
      return 2;
    }
    lua.lua_pushboolean(L, true);
    lua.lua_xmove(co, L, nres);
    return nres + 1;
  }
  // The error value first, then false under it: when `co` is L itself
  // (resuming the running coroutine) the move is a no-op and the order would flip.
  lua.lua_xmove(co, L, 1);
  lua.lua_pushboolean(L, false);
  lua.lua_insert(L, -2);
  return 2;
}

function coResume(L: LuaState): number {
  const co = lua.lua_tothread(L, 1);
  if (!co) {
    lauxlib.luaL_argerror(L, 1, to_luastring('coroutine expected'));
  }
  const nargs = lua.lua_gettop(L) - 1;
  return resumeStep(L, co, nargs);
}

// Lua 5.4: a wrapped coroutine that fails is closed (its <close> variables
// run); an error raised while closing replaces the original one.
const WRAP_SOURCE = `
local create, resume, close, status = coroutine.create, coroutine.resume, coroutine.close, coroutine.status
local pack, unpack, error = table.pack, table.unpack, error
return function(f)
  local co = create(f)
  return function(...)
    local r = pack(resume(co, ...))
    if r[1] then return unpack(r, 2, r.n) end
    local err = r[2]
    if status(co) == 'dead' then
      local ok, closeErr = close(co)
      if not ok then err = closeErr end
    end
    error(err, 0)
  end
end
`;

/** Replaces coroutine.resume and coroutine.wrap in the state's coroutine library. */
export function installForwardingCoroutines(L: LuaState): void {
  lua.lua_getglobal(L, keyBytes('coroutine'));
  lua.lua_pushcfunction(L, coResume);
  lua.lua_setfield(L, -2, keyBytes('resume'));
  if (lauxlib.luaL_loadbuffer(L, to_luastring(WRAP_SOURCE), null, to_luastring('=[kumo-lua coroutine.wrap]')) !== LUA_OK) {
    throw new Error('internal: cannot load coroutine.wrap');
  }
  lua.lua_call(L, 0, 1);
  lua.lua_setfield(L, -2, keyBytes('wrap'));
  lua.lua_pop(L, 1);
}
