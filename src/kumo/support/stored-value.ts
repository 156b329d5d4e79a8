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
  | { t: 'table'; entries: Array<[StoredValue, StoredValue]> }
  | { t: 'ref'; ref: number };

/** Nesting bound for tables that hold userdata (a cycle would never end). */
const MAX_DEPTH = 64;

/**
 * A table holding userdata or functions (e.g. KumoMTA's queue helper caches
 * `{ queues = kumo.domain_map.new(...), ... }`): copied key by key, the
 * userdata kept by reference, as KumoMTA's memoize keeps such tables.
 */
function storeTable(runtime: LuaRuntime, L: LuaState, idx: number, allowFunctions: boolean, depth: number): StoredValue {
  if (depth > MAX_DEPTH) throw new Error(`cannot store a table nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  const t = lua.lua_absindex(L, idx);
  const entries: Array<[StoredValue, StoredValue]> = [];
  try {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, t) !== 0) {
      const key = storeAt(runtime, L, -2, allowFunctions, depth + 1);
      entries.push([key, storeAt(runtime, L, -1, allowFunctions, depth + 1)]);
      lua.lua_pop(L, 1);
    }
  } catch (err) {
    for (const [k, v] of entries) {
      releaseStoredValue(runtime, k);
      releaseStoredValue(runtime, v);
    }
    throw err;
  }
  return { t: 'table', entries };
}

function hasUserdataOrFunction(L: LuaState, idx: number, depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  const t = lua.lua_absindex(L, idx);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    const vt = lua.lua_type(L, -1);
    const nested = vt === LUA_TTABLE ? hasUserdataOrFunction(L, -1, depth + 1) : vt !== LUA_TNIL && vt !== LUA_TBOOLEAN && vt !== LUA_TNUMBER && vt !== LUA_TSTRING;
    if (nested) {
      lua.lua_pop(L, 2);
      return true;
    }
    lua.lua_pop(L, 1);
  }
  return false;
}

function storeAt(runtime: LuaRuntime, L: LuaState, idx: number, allowFunctions: boolean, depth: number): StoredValue {
  if (lua.lua_type(L, idx) === LUA_TTABLE && hasUserdataOrFunction(L, idx, depth)) return storeTable(runtime, L, idx, allowFunctions, depth);
  return storeValue(runtime, L, idx, allowFunctions);
}

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
      if (hasUserdataOrFunction(L, idx, 0)) return storeTable(runtime, L, idx, allowFunctions, 0);
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
    case 'table':
      lua.lua_createtable(L, 0, s.entries.length);
      for (const [k, v] of s.entries) {
        pushStoredValue(runtime, L, k);
        pushStoredValue(runtime, L, v);
        lua.lua_rawset(L, -3);
      }
      return;
    case 'ref':
      runtime.pushRef(L, s.ref);
      return;
  }
}

export function releaseStoredValue(runtime: LuaRuntime, s: StoredValue): void {
  if (s.t === 'ref') runtime.unref(s.ref);
  else if (s.t === 'table') {
    for (const [k, v] of s.entries) {
      releaseStoredValue(runtime, k);
      releaseStoredValue(runtime, v);
    }
  }
}
