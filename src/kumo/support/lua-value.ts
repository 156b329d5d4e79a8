/**
 * Lua values → an ordered serde-like tree, the way KumoMTA's encoders see
 * them (clients.md §6.1). Unlike JS objects, `SerdeObject` keeps Lua's
 * iteration order (Fengari iterates roughly in insertion order) and keeps
 * integer-looking keys where Lua put them.
 *
 * Two paths:
 * - materialize (json_encode, toml/yaml encoders): every table is copied
 *   first, so the array marker is lost and an empty table is always `{}`;
 * - direct (digest arguments): an empty table carrying the array marker is `[]`.
 */
import { lua, lauxlib, type LuaState, LUA_TBOOLEAN, LUA_TLIGHTUSERDATA, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TUSERDATA } from '../../lua/fengari.ts';
import { LUA_NULL, floatJsonForm, hasArrayMarker, typeNameAt, type JsonConvertible } from '../../lua/marshal.ts';
import { decodeUtf8Strict, keyBytes, toBytes } from '../../lua/strings.ts';
import { keyTextStrict } from '../../lua/interned-keys.ts';
import { JsonFloat, formatFloat, type JsonValue } from '../../util/json.ts';

/** A Lua string that is not UTF-8: JSON writes it as an array of byte values. */
export class SerdeBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export class SerdeObject {
  constructor(readonly entries: [string, SerdeValue][] = []) {}
}

/**
 * Integers are plain integral numbers; floats are JsonFloat when integral
 * (within Fengari's integer range) or not finite, plain numbers otherwise.
 */
export type SerdeValue = null | boolean | number | JsonFloat | string | SerdeBytes | SerdeValue[] | SerdeObject;

export class SerdeError extends Error {}

export interface LuaToSerdeOptions {
  /** Copy tables first (drops the array marker); false for the direct digest path. */
  materialize: boolean;
}

export function floatToSerde(n: number): number | JsonFloat {
  return Number.isFinite(n) ? floatJsonForm(n) : new JsonFloat(n);
}

function numberAt(L: LuaState, idx: number): number | JsonFloat {
  if (lua.lua_isinteger(L, idx)) return lua.lua_tointeger(L, idx) as number;
  return floatToSerde(lua.lua_tonumber(L, idx) as number);
}

export function luaToSerde(L: LuaState, idx: number, options: LuaToSerdeOptions): SerdeValue {
  return new Converter(L, options).convert(lua.lua_absindex(L, idx));
}

class Converter {
  private readonly path = new Set<unknown>();
  constructor(
    private readonly L: LuaState,
    private readonly options: LuaToSerdeOptions,
  ) {}

  convert(idx: number): SerdeValue {
    const L = this.L;
    switch (lua.lua_type(L, idx)) {
      case LUA_TNIL:
        return null;
      case LUA_TBOOLEAN:
        return lua.lua_toboolean(L, idx) as boolean;
      case LUA_TNUMBER:
        return numberAt(L, idx);
      case LUA_TSTRING: {
        const bytes = toBytes(L, idx);
        const text = decodeUtf8Strict(bytes);
        return text !== undefined ? text : new SerdeBytes(Uint8Array.from(bytes));
      }
      case LUA_TLIGHTUSERDATA:
        if (lua.lua_touserdata(L, idx) === LUA_NULL) return null;
        throw new SerdeError('cannot serialize <lightuserdata>');
      case LUA_TUSERDATA:
        return this.userdata(idx);
      case LUA_TTABLE:
        return this.table(idx);
      default:
        throw new SerdeError(`cannot serialize <${typeNameAt(L, idx)}>`);
    }
  }

  private userdata(idx: number): SerdeValue {
    const L = this.L;
    if (lauxlib.luaL_getmetafield(L, idx, keyBytes('__pairs')) !== LUA_TNIL) {
      lua.lua_pop(L, 1);
      this.tableFromPairs(idx);
      try {
        return this.table(lua.lua_gettop(L));
      } finally {
        lua.lua_pop(L, 1);
      }
    }
    const box = lua.lua_touserdata(L, idx) as { obj?: Partial<JsonConvertible> } | null;
    if (box?.obj && typeof box.obj.toJsonValue === 'function') return jsonToSerde(box.obj.toJsonValue());
    throw new SerdeError(`cannot materialize_to_lua_value(${typeNameAt(L, idx)}) because it has no __pairs metamethod`);
  }

  /** Pushes a fresh table filled by iterating the userdata's __pairs. */
  private tableFromPairs(idx: number): void {
    const L = this.L;
    lauxlib.luaL_checkstack(L, 8, null);
    lua.lua_newtable(L);
    const out = lua.lua_gettop(L);
    lauxlib.luaL_getmetafield(L, idx, keyBytes('__pairs'));
    lua.lua_pushvalue(L, idx);
    lua.lua_call(L, 1, 3); // iterator, state, control
    const iter = out + 1;
    for (let guard = 0; guard < 10_000_000; guard++) {
      lua.lua_pushvalue(L, iter);
      lua.lua_pushvalue(L, iter + 1);
      lua.lua_pushvalue(L, iter + 2);
      lua.lua_call(L, 2, 2);
      if (lua.lua_type(L, -2) === LUA_TNIL) {
        lua.lua_pop(L, 2);
        break;
      }
      lua.lua_pushvalue(L, -2);
      lua.lua_replace(L, iter + 2);
      lua.lua_rawset(L, out);
    }
    lua.lua_settop(L, out);
  }

  private table(idx: number): SerdeValue {
    const L = this.L;
    const identity = lua.lua_topointer(L, idx);
    if (this.path.has(identity)) throw new SerdeError('recursive table detected');
    this.path.add(identity);
    try {
      lauxlib.luaL_checkstack(L, 4, null);
      const len = lua.lua_rawlen(L, idx) as number;
      if (len > 0) {
        const out: SerdeValue[] = new Array(len);
        for (let i = 1; i <= len; i++) {
          lua.lua_rawgeti(L, idx, i);
          out[i - 1] = this.convert(lua.lua_gettop(L));
          lua.lua_pop(L, 1);
        }
        return out;
      }
      if (!this.options.materialize && hasArrayMarker(L, idx)) return [];
      const entries: [string, SerdeValue][] = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, idx) !== 0) {
        const key = this.key(lua.lua_gettop(L) - 1);
        entries.push([key, this.convert(lua.lua_gettop(L))]);
        lua.lua_pop(L, 1);
      }
      return new SerdeObject(entries);
    } finally {
      this.path.delete(identity);
    }
  }

  private key(idx: number): string {
    const L = this.L;
    switch (lua.lua_type(L, idx)) {
      case LUA_TSTRING: {
        const text = keyTextStrict(toBytes(L, idx));
        if (text === undefined) throw new SerdeError('key must be a string');
        return text;
      }
      case LUA_TNUMBER: {
        if (lua.lua_isinteger(L, idx)) return String(lua.lua_tointeger(L, idx));
        const n = lua.lua_tonumber(L, idx) as number;
        if (!Number.isFinite(n)) throw new SerdeError('float key must be finite (got NaN or +/-inf)');
        return formatFloat(n);
      }
      case LUA_TBOOLEAN:
        return lua.lua_toboolean(L, idx) ? 'true' : 'false';
      default:
        throw new SerdeError('key must be a string');
    }
  }
}

/** A JsonValue (from a host object) as a serde tree. */
export function jsonToSerde(v: JsonValue): SerdeValue {
  if (v === null || typeof v !== 'object' || v instanceof JsonFloat) return v;
  if (Array.isArray(v)) return v.map(jsonToSerde);
  return new SerdeObject(Object.entries(v).map(([k, x]) => [k, jsonToSerde(x)]));
}

/** A serde tree as a JsonValue (later duplicate keys win; bytes become arrays). */
export function serdeToJson(v: SerdeValue): JsonValue {
  if (v === null || typeof v !== 'object' || v instanceof JsonFloat) return v;
  if (v instanceof SerdeBytes) return Array.from(v.bytes);
  if (Array.isArray(v)) return v.map(serdeToJson);
  const out: { [key: string]: JsonValue } = Object.create(null);
  for (const [k, x] of v.entries) out[k] = serdeToJson(x);
  return out;
}
