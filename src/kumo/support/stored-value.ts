/**
 * Lua values kept by the host between calls (kumo.memoize results, map
 * values): scalars by value, tables as a JSON copy so later writes on either
 * side never reach the other, userdata (and, where allowed, functions) by
 * registry reference.
 */
import { lua, type LuaState, LUA_TBOOLEAN, LUA_TFUNCTION, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE } from '../../lua/fengari.ts';
import { toJson } from '../../lua/marshal.ts';
import type { LuaRuntime } from '../../lua/runtime.ts';
import { pushBytes, toBytes } from '../../lua/strings.ts';
import type { JsonValue } from '../../util/json.ts';
import { pushJsonArrays } from './push-json.ts';

export type StoredValue =
  | { t: 'nil' }
  | { t: 'bool'; v: boolean }
  | { t: 'int' | 'float'; v: number }
  | { t: 'str'; bytes: Uint8Array }
  | { t: 'json'; v: JsonValue }
  | { t: 'ref'; ref: number };

/** Copies the value at `idx`; functions raise unless `allowFunctions`. */
export function storeValue(runtime: LuaRuntime, L: LuaState, idx: number, allowFunctions = true): StoredValue {
  switch (lua.lua_type(L, idx)) {
    case LUA_TNIL:
      return { t: 'nil' };
    case LUA_TBOOLEAN:
      return { t: 'bool', v: lua.lua_toboolean(L, idx) as boolean };
    case LUA_TNUMBER:
      return lua.lua_isinteger(L, idx) ? { t: 'int', v: lua.lua_tointeger(L, idx) as number } : { t: 'float', v: lua.lua_tonumber(L, idx) as number };
    case LUA_TSTRING:
      return { t: 'str', bytes: Uint8Array.from(toBytes(L, idx)) };
    case LUA_TTABLE:
      return { t: 'json', v: toJson(L, idx, { keepArrayMarker: true }) };
    case LUA_TFUNCTION:
      if (!allowFunctions) throw new Error('cannot store a function value');
    // falls through: shared by reference
    default:
      // Userdata (clients, configs, maps) are objects anyway: shared.
      lua.lua_pushvalue(L, idx);
      lua.lua_xmove(L, runtime.L, 1);
      return { t: 'ref', ref: runtime.ref() };
  }
}

/** Pushes a fresh copy (tables) or the shared object (references). */
export function pushStoredValue(runtime: LuaRuntime, L: LuaState, s: StoredValue): void {
  switch (s.t) {
    case 'nil':
      lua.lua_pushnil(L);
      return;
    case 'bool':
      lua.lua_pushboolean(L, s.v);
      return;
    case 'int':
      lua.lua_pushinteger(L, s.v);
      return;
    case 'float':
      lua.lua_pushnumber(L, s.v);
      return;
    case 'str':
      pushBytes(L, s.bytes);
      return;
    case 'json':
      pushJsonArrays(L, s.v);
      return;
    case 'ref':
      runtime.pushRef(L, s.ref);
      return;
  }
}

export function releaseStoredValue(runtime: LuaRuntime, s: StoredValue): void {
  if (s.t === 'ref') runtime.unref(s.ref);
}
