/** A duration argument in test code: seconds as a number, or a humantime string like '5m'. */
import { lua, type LuaState } from '../lua/fengari.ts';
import { toText } from '../lua/strings.ts';
import { parseDuration } from '../util/duration.ts';

export function parseDurationArg(L: LuaState, i: number): number {
  const t = lua.lua_type(L, i);
  if (t === lua.LUA_TNUMBER) return parseDuration(Number(lua.lua_tonumber(L, i)));
  if (t === lua.LUA_TSTRING) return parseDuration(toText(L, i));
  throw new Error(`bad argument #${i}: expected a duration (seconds or a string like '5m'), got ${lua.lua_typename(L, t)}`);
}
