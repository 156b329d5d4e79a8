/**
 * pushJson with the array marker, safe for deep values.
 *
 * Works around a bridge limit: marshal.pushJson reserves 3 stack slots per
 * level, but the first pushArrayMarker in a state needs 3 on top of the array
 * being built, so deeply nested arrays overflow the C stack (an api_check
 * error that escapes pcall). Creating the marker up front avoids it.
 */
import { lua, lauxlib, type LuaState } from '../../lua/fengari.ts';
import { pushArrayMarker, pushJson } from '../../lua/marshal.ts';
import type { JsonValue } from '../../util/json.ts';

export function pushJsonArrays(L: LuaState, v: JsonValue | undefined): void {
  lauxlib.luaL_checkstack(L, 4, null);
  pushArrayMarker(L);
  lua.lua_pop(L, 1);
  pushJson(L, v, { arrayMarker: true });
}
