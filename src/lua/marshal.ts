/**
 * Lua ⇄ JSON values with KumoMTA's rules (lua-api.md §14).
 *
 * Lua → JSON: a table with raw length > 0 is an array of 1..#t (other keys
 * dropped, holes become null); any other table is an object unless it is an
 * empty table carrying the array marker and the path keeps markers
 * (set_meta does, json_encode does not). Strings that are not UTF-8 become
 * arrays of byte values. Integers cross as integers (the VM keeps them exact
 * to ±(2^53 − 1)); integral floats stay floats (JsonFloat), except those
 * beyond that range and below 2^63, which can only be floats here and are
 * treated as the 64-bit integers they would be in KumoMTA.
 *
 * JSON → Lua: null members are absent, null array elements are holes, arrays
 * get the marker metatable `{__metatable = false}`.
 */
import { JsonFloat, type JsonObject, type JsonValue } from '../util/json.ts';
import {
  lua,
  lauxlib,
  type LuaState,
  LUA_REGISTRYINDEX,
  LUA_TBOOLEAN,
  LUA_TLIGHTUSERDATA,
  LUA_TNIL,
  LUA_TNUMBER,
  LUA_TSTRING,
  LUA_TTABLE,
  LUA_TUSERDATA,
} from './fengari.ts';
import { decodeUtf8Strict, encodeText, keyBytes, toBytes } from './strings.ts';
import { internedKey } from './interned-keys.ts';
import {
  hostBool,
  hostFloat,
  hostIndex,
  hostInt,
  hostLightUserdata,
  hostNewTable,
  hostPush,
  hostSetI,
  hostSetKey,
  hostSetMetatable,
  hostString,
  hostTableValue,
  type HostTable,
  type TValue,
} from './host-values.ts';

/** KumoMTA's null sentinel: a light userdata that stands for JSON null. */
export const LUA_NULL: object = Object.freeze({ kumoLuaNull: true });

/** Host objects that know their own JSON form (used when userdata is serialised). */
export interface JsonConvertible {
  toJsonValue(): JsonValue;
}

const ARRAY_MARKER = keyBytes('kumo-lua.array-marker');
const MAX_DEPTH = 128;
const INT64_LIMIT = 2 ** 63;

export class MarshalError extends Error {}

export function pushArrayMarker(L: LuaState): void {
  if (lua.lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MARKER) === LUA_TNIL) {
    lua.lua_pop(L, 1);
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, -2, keyBytes('__metatable'));
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, LUA_REGISTRYINDEX, ARRAY_MARKER);
  }
}

export function hasArrayMarker(L: LuaState, idx: number): boolean {
  const abs = lua.lua_absindex(L, idx);
  if (!lua.lua_getmetatable(L, abs)) return false;
  pushArrayMarker(L);
  const same = lua.lua_rawequal(L, -1, -2);
  lua.lua_pop(L, 2);
  return same;
}

export interface PushJsonOptions {
  /** Give arrays the marker metatable (true for json_parse / get_meta). */
  arrayMarker?: boolean;
  /** Push null as the null sentinel instead of nil (disposition hook records). */
  nullSentinel?: boolean;
}

/** Pushes a JS number: a Lua integer when it is one the VM holds exactly (±(2^53 − 1)), else a float. */
export function pushNumber(L: LuaState, n: number): void {
  if (Number.isSafeInteger(n)) lua.lua_pushinteger(L, n);
  else lua.lua_pushnumber(L, n);
}

/**
 * The JSON form of a finite Lua float. Integral floats stay floats (3.0),
 * except between the VM's integer limit and 2^63: those are the 64-bit
 * integers KumoMTA would have held, which can only be floats here.
 */
export function floatJsonForm(n: number): number | JsonFloat {
  if (!Number.isInteger(n)) return n;
  const a = Math.abs(n);
  return a > Number.MAX_SAFE_INTEGER && a < INT64_LIMIT ? n : new JsonFloat(n);
}

/** What one pushJson call needs while it builds tables. */
interface Build {
  L: LuaState;
  nullSentinel: boolean;
  arrayMarker: boolean;
  /** The marker metatable, fetched at the first array. */
  marker: HostTable | undefined;
}

/**
 * Pushes a JSON value as a Lua value. Tables are built directly (the fork's
 * lhost API), not through the API stack: same values, same iteration order.
 */
export function pushJson(L: LuaState, v: JsonValue | undefined, options: PushJsonOptions = {}): void {
  // The first array in a state also creates the marker table: 3 slots.
  lauxlib.luaL_checkstack(L, 3, null);
  const build: Build = { L, nullSentinel: options.nullSentinel === true, arrayMarker: options.arrayMarker !== false, marker: undefined };
  const tv = jsonToLua(build, v);
  if (tv === undefined) lua.lua_pushnil(L);
  else hostPush(L, tv);
}

/** Each state's marker table, by its global state (the registry entry never changes once made). */
const markers = new WeakMap<object, HostTable>();

/** The array marker metatable itself (created on first use; needs 3 free stack slots). */
export function arrayMarkerTable(L: LuaState): HostTable {
  const G = (L as unknown as { l_G: object }).l_G;
  let marker = markers.get(G);
  if (marker === undefined) {
    pushArrayMarker(L);
    marker = hostIndex(L, -1).value as HostTable;
    lua.lua_pop(L, 1);
    markers.set(G, marker);
  }
  return marker;
}

function markerOf(build: Build): HostTable {
  return (build.marker ??= arrayMarkerTable(build.L));
}

/** The Lua value for v, or undefined for nil. */
function jsonToLua(build: Build, v: JsonValue | undefined): TValue | undefined {
  if (v === null || v === undefined) return build.nullSentinel && v === null ? hostLightUserdata(LUA_NULL) : undefined;
  switch (typeof v) {
    case 'boolean':
      return hostBool(v);
    case 'number':
      return Number.isSafeInteger(v) ? hostInt(v) : hostFloat(v);
    case 'string':
      return hostString(encodeText(v));
  }
  if (v instanceof JsonFloat) return hostFloat(v.value);
  const t = hostNewTable(build.L);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item = jsonToLua(build, v[i]);
      if (item !== undefined) hostSetI(t, i + 1, item);
    }
    if (build.arrayMarker) hostSetMetatable(t, markerOf(build));
    return hostTableValue(t);
  }
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const item = jsonToLua(build, (v as JsonObject)[k]);
    if (item !== undefined) hostSetKey(t, internedKey(k), item);
  }
  return hostTableValue(t);
}

export interface ToJsonOptions {
  /** Empty tables with the array marker become [] (set_meta path). */
  keepArrayMarker?: boolean;
}

/** Converts a Lua number at idx to its JSON form. */
export function numberToJson(L: LuaState, idx: number): number | JsonFloat | null {
  if (lua.lua_isinteger(L, idx)) return lua.lua_tointeger(L, idx) as number;
  const n = lua.lua_tonumber(L, idx) as number;
  if (!Number.isFinite(n)) return null;
  return floatJsonForm(n);
}

/** A Lua string's JSON form: text when UTF-8, else an array of byte values. */
export function stringToJson(L: LuaState, idx: number): JsonValue {
  const bytes = toBytes(L, idx);
  const text = decodeUtf8Strict(bytes);
  return text !== undefined ? text : Array.from(bytes);
}

function keyToString(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  if (t === LUA_TSTRING) {
    const bytes = toBytes(L, idx);
    const text = decodeUtf8Strict(bytes);
    if (text === undefined) throw new MarshalError('table key is not valid UTF-8');
    return text;
  }
  if (t === LUA_TNUMBER) {
    if (lua.lua_isinteger(L, idx)) return String(lua.lua_tointeger(L, idx));
    const n = lua.lua_tonumber(L, idx) as number;
    return Number.isInteger(n) ? `${n}.0` : String(n);
  }
  throw new MarshalError(`cannot use a ${typeNameAt(L, idx)} as a JSON object key`);
}

export function typeNameAt(L: LuaState, idx: number): string {
  return new TextDecoder().decode(lauxlib.luaL_typename(L, idx) as Uint8Array);
}

/** Converts the Lua value at idx to JSON; throws MarshalError for functions, threads, cycles. */
export function toJson(L: LuaState, idx: number, options: ToJsonOptions = {}): JsonValue {
  return convert(L, lua.lua_absindex(L, idx), options, 0);
}

function convert(L: LuaState, idx: number, options: ToJsonOptions, depth: number): JsonValue {
  switch (lua.lua_type(L, idx)) {
    case LUA_TNIL:
      return null;
    case LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx) as boolean;
    case LUA_TNUMBER:
      return numberToJson(L, idx);
    case LUA_TSTRING:
      return stringToJson(L, idx);
    case LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, idx) === LUA_NULL) return null;
      throw new MarshalError('cannot serialise a lightuserdata');
    case LUA_TUSERDATA: {
      const box = lua.lua_touserdata(L, idx) as { obj?: Partial<JsonConvertible> } | null;
      if (box?.obj && typeof box.obj.toJsonValue === 'function') return box.obj.toJsonValue();
      throw new MarshalError(`cannot serialise userdata ${typeNameAt(L, idx)}`);
    }
    case LUA_TTABLE:
      return tableToJson(L, idx, options, depth);
    default:
      throw new MarshalError(`cannot serialise a ${typeNameAt(L, idx)}`);
  }
}

function tableToJson(L: LuaState, idx: number, options: ToJsonOptions, depth: number): JsonValue {
  if (depth >= MAX_DEPTH) throw new MarshalError('recursive table or nesting too deep to serialise');
  lauxlib.luaL_checkstack(L, 4, null);
  const len = lua.lua_rawlen(L, idx) as number;
  if (len > 0) {
    const out: JsonValue[] = new Array(len);
    for (let i = 1; i <= len; i++) {
      lua.lua_rawgeti(L, idx, i);
      out[i - 1] = convert(L, lua.lua_gettop(L), options, depth + 1);
      lua.lua_pop(L, 1);
    }
    return out;
  }
  if (options.keepArrayMarker && hasArrayMarker(L, idx)) return [];
  const out: JsonObject = {};
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx) !== 0) {
    const key = keyToString(L, -2);
    out[key] = convert(L, lua.lua_gettop(L), options, depth + 1);
    lua.lua_pop(L, 1);
  }
  return out;
}
