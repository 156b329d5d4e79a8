/**
 * Argument conversion for host functions, following mlua's positional rules
 * (clients.md §0.2 "P"): text accepts strings (valid UTF-8) and numbers,
 * integers accept floats (truncated) and numeric strings, booleans treat any
 * non-nil, non-false value as true.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TFUNCTION } from './fengari.ts';
import { decodeUtf8Strict, toBytes } from './strings.ts';
import { typeNameAt } from './marshal.ts';

function argError(L: LuaState, i: number, message: string): never {
  lauxlib.luaL_argerror(L, i, to_luastring(message));
  throw new Error('unreachable');
}

export function isNoneOrNil(L: LuaState, i: number): boolean {
  return lua.lua_type(L, i) <= LUA_TNIL;
}

/** A UTF-8 text argument (string or number). */
export function argString(L: LuaState, i: number): string {
  const t = lua.lua_type(L, i);
  if (t !== LUA_TSTRING && t !== LUA_TNUMBER) argError(L, i, `error converting Lua ${typeNameOrNone(L, i)} to String`);
  const text = decodeUtf8Strict(toBytes(L, i));
  if (text === undefined) argError(L, i, 'error converting Lua string to String (invalid utf-8)');
  return text;
}

export function optString(L: LuaState, i: number): string | undefined {
  return isNoneOrNil(L, i) ? undefined : argString(L, i);
}

/** A binary-safe string argument (string or number). */
export function argBytes(L: LuaState, i: number): Uint8Array {
  const t = lua.lua_type(L, i);
  if (t !== LUA_TSTRING && t !== LUA_TNUMBER) argError(L, i, `error converting Lua ${typeNameOrNone(L, i)} to string`);
  return toBytes(L, i);
}

export function argInteger(L: LuaState, i: number): number {
  const t = lua.lua_type(L, i);
  if (t === LUA_TNUMBER || t === LUA_TSTRING) {
    const n = lua.lua_isinteger(L, i) ? (lua.lua_tointeger(L, i) as number) : Number(lua.lua_tonumber(L, i));
    if (Number.isFinite(n) && (t === LUA_TNUMBER || lua.lua_isnumber(L, i))) return Math.trunc(n);
  }
  return argError(L, i, `error converting Lua ${typeNameOrNone(L, i)} to integer`);
}

export function optInteger(L: LuaState, i: number): number | undefined {
  return isNoneOrNil(L, i) ? undefined : argInteger(L, i);
}

export function argNumber(L: LuaState, i: number): number {
  if (lua.lua_isnumber(L, i)) return Number(lua.lua_tonumber(L, i));
  return argError(L, i, `error converting Lua ${typeNameOrNone(L, i)} to number`);
}

export function argBoolean(L: LuaState, i: number): boolean {
  return lua.lua_toboolean(L, i) as boolean;
}

export function checkTable(L: LuaState, i: number): void {
  if (lua.lua_type(L, i) !== LUA_TTABLE) argError(L, i, `table expected, got ${typeNameOrNone(L, i)}`);
}

export function checkFunction(L: LuaState, i: number): void {
  if (lua.lua_type(L, i) !== LUA_TFUNCTION) argError(L, i, `function expected, got ${typeNameOrNone(L, i)}`);
}

export function typeNameOrNone(L: LuaState, i: number): string {
  return lua.lua_type(L, i) === lua.LUA_TNONE ? 'no value' : typeNameAt(L, i);
}
