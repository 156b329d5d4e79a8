/**
 * Host functions that wait on I/O. The calling Lua code is suspended with
 * lua_yieldk and resumed by the runner when the promise settles, so policies
 * stay plain sequential code (fengari-notes.md Q1).
 */
import { lua, type LuaCFunction, type LuaState } from './fengari.ts';
import { pushErrorValue } from './errors.ts';

/** Pushes a host call's results on resume; returns how many. */
export type LuaReturn = (L: LuaState) => number;

/** The sentinel a suspended coroutine hands to whoever drives it. */
export class HostOp {
  settled = false;
  ok = false;
  value: unknown;
  constructor(readonly promise: Promise<LuaReturn | void>) {}

  async wait(): Promise<void> {
    try {
      this.value = await this.promise;
      this.ok = true;
    } catch (e) {
      this.value = e;
      this.ok = false;
    }
    this.settled = true;
  }
}

export function isHostOp(L: LuaState, idx: number): HostOp | undefined {
  if (lua.lua_type(L, idx) !== lua.LUA_TLIGHTUSERDATA) return undefined;
  const v = lua.lua_touserdata(L, idx);
  return v instanceof HostOp ? v : undefined;
}

function resumeWithResult(L: LuaState, _status: number, op: HostOp): number {
  if (!op.ok) {
    pushErrorValue(L, op.value);
    return lua.lua_error(L);
  }
  const push = op.value as LuaReturn | undefined;
  return push ? push(L) : 0;
}

/**
 * Wraps an async implementation as a Lua function. `start` must read every
 * argument it needs synchronously, before its first await: touching the Lua
 * state from a promise callback is an unprotected error that kills Node
 * (fengari-notes.md pitfall 3).
 */
export function asyncFunction(name: string, start: (L: LuaState) => Promise<LuaReturn | void>): LuaCFunction {
  return (L: LuaState) => {
    if (!lua.lua_isyieldable(L)) {
      throw new Error(
        `${name} waits for I/O and cannot be called here (inside a table.sort comparator, string.gsub callback, ` +
          `__tostring, __pairs or another place Lua cannot suspend)`,
      );
    }
    const top = lua.lua_gettop(L);
    // Fengari's protected-call record: lua_error sets its status, then throws it.
    const jmp = (L as unknown as { errorJmp?: { status: number } | null }).errorJmp;
    const statusBefore = jmp?.status;
    const promise = start(L);
    if (jmp && jmp.status !== statusBefore && lua.lua_gettop(L) > top) {
      // A Lua error (luaL_argerror, luaL_error) raised while `start` read its
      // arguments: it escaped into the promise, but its message is on the
      // stack. Raise it now, as a synchronous function would, instead of
      // letting the rejection surface later as an opaque object.
      jmp.status = statusBefore!;
      promise.catch(() => undefined);
      return lua.lua_error(L);
    }
    const op = new HostOp(promise);
    lua.lua_pushlightuserdata(L, op);
    return lua.lua_yieldk(L, 1, op, resumeWithResult);
  };
}

/** Convenience: an async function whose result is pushed with `push`. */
export function returning<T>(push: (L: LuaState, value: T) => void): (value: T) => LuaReturn {
  return (value: T) => (L: LuaState) => {
    push(L, value);
    return 1;
  };
}
