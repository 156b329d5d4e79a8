/**
 * Lua-side argument readers shared by the kumo.http / kafka / amqp bindings,
 * on top of src/lua/args.ts.
 */
import { lua, type LuaState, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { toJson, typeNameAt } from '../lua/marshal.ts';
import { decodeUtf8Strict, keyBytes, toBytes } from '../lua/strings.ts';
import type { JsonValue } from '../util/json.ts';
import { FieldError } from './serde-fields.ts';

/** The text (P) form of the value at idx: a UTF-8 string or a number as tostring() prints it. */
export function textAt(L: LuaState, idx: number): string | undefined {
  const t = lua.lua_type(L, idx);
  if (t === LUA_TNUMBER) {
    // lua_tolstring would convert the stack slot in place; work on a copy.
    lua.lua_pushvalue(L, idx);
    const s = decodeUtf8Strict(toBytes(L, -1));
    lua.lua_pop(L, 1);
    return s;
  }
  if (t !== LUA_TSTRING) return undefined;
  return decodeUtf8Strict(toBytes(L, idx));
}

/**
 * A map argument (P): pairs with text keys and values (numbers converted),
 * in `next` order. `what` names the argument in errors.
 */
export function readTextMap(L: LuaState, idx: number, what: string): [string, string][] {
  const abs = lua.lua_absindex(L, idx);
  if (lua.lua_type(L, abs) !== LUA_TTABLE) throw new Error(`${what}: error converting Lua ${typeNameAt(L, abs)} to HashMap<String, String>`);
  const out: [string, string][] = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    const key = textAt(L, -2);
    const value = textAt(L, -1);
    if (key === undefined || value === undefined) {
      const bad = key === undefined ? -2 : -1;
      const type = typeNameAt(L, bad);
      lua.lua_pop(L, 2);
      throw new Error(`${what}: error converting Lua ${type} to String${type === 'string' ? ' (invalid utf-8)' : ''}`);
    }
    out.push([key, value]);
    lua.lua_pop(L, 1);
  }
  return out;
}

/** The Lua value at idx as JSON, for structured (S) parsing; unconvertible values are serde errors. */
export function tableAsJson(L: LuaState, idx: number): JsonValue {
  try {
    return toJson(L, idx);
  } catch (e) {
    throw new FieldError((e as Error).message);
  }
}

/** t[name] as raw bytes when it is a string (binary-safe), undefined when absent; numbers converted. */
export function bytesField(L: LuaState, idx: number, name: string): Uint8Array | undefined {
  const abs = lua.lua_absindex(L, idx);
  const t = lua.lua_getfield(L, abs, keyBytes(name));
  try {
    if (t === LUA_TNIL) return undefined;
    if (t === LUA_TSTRING) return new Uint8Array(toBytes(L, -1));
    return undefined;
  } finally {
    lua.lua_pop(L, 1);
  }
}
