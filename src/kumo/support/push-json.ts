/**
 * pushJson with the array marker (json_load, toml/yaml parse, json_parse's
 * general path).
 *
 * Creating the marker up front once worked around pushJson reserving stack
 * per nesting level; pushJson now builds tables off the stack (lhost), so
 * this is only the shared spelling of "parse result with markers".
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
