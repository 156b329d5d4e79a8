/**
 * Errors in both directions. A Lua error that escapes a handler becomes a
 * LuaError carrying the message and the Lua traceback; a JS exception thrown
 * by a host function becomes a catchable Lua error (see nativeErrorHandler).
 */
import { lua, lauxlib, type LuaState } from './fengari.ts';
import { pushText } from './strings.ts';

export class LuaError extends Error {
  override name = 'LuaError';
  constructor(
    message: string,
    /** `stack traceback:` text with file:line frames. */
    readonly luaTraceback: string,
    /** The JS object behind a host-raised error value (e.g. a kumo.reject Rejection), if any. */
    readonly payload?: unknown,
  ) {
    super(message);
  }

  /** Message plus traceback, for people. */
  describe(): string {
    return this.luaTraceback ? `${this.message}\n${this.luaTraceback}` : this.message;
  }
}

/**
 * A host error whose Lua form is something other than a string: `push`
 * leaves exactly one value (the error object) on the stack.
 */
export interface LuaRaisable {
  pushLuaError(L: LuaState): void;
}

export function isLuaRaisable(e: unknown): e is LuaRaisable {
  return typeof e === 'object' && e !== null && typeof (e as LuaRaisable).pushLuaError === 'function';
}

export function errorMessageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Pushes the Lua value that stands for a JS exception. */
export function pushErrorValue(L: LuaState, e: unknown): void {
  if (isLuaRaisable(e)) e.pushLuaError(L);
  else pushText(L, errorMessageOf(e));
}

/**
 * Installed with lua_atnativeerror: without it a JS throw inside a host
 * function reaches pcall as `false` plus garbage (fengari-notes.md pitfall 4).
 */
export function nativeErrorHandler(L: LuaState): number {
  const e = lua.lua_touserdata(L, 1);
  pushErrorValue(L, e);
  return 1;
}

/** Raises a Lua error from inside a host function (never returns). */
export function raise(L: LuaState, message: string): never {
  pushText(L, message);
  lua.lua_error(L);
  throw new Error('unreachable');
}

/** Raises a Lua error that carries the position of the calling Lua code. */
export function raiseHere(L: LuaState, message: string): never {
  lauxlib.luaL_where(L, 1);
  pushText(L, message);
  lua.lua_concat(L, 2);
  lua.lua_error(L);
  throw new Error('unreachable');
}
