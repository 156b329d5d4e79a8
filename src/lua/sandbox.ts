/**
 * The standard library a KumoMTA policy expects, on Fengari: Fengari's gaps
 * filled and its escape hatches closed (fengari-notes.md Q3, pitfall 6).
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from './fengari.ts';
import { keyBytes } from './strings.ts';
import { installIo } from './stdlib-io.ts';

function setGlobalNil(L: LuaState, name: string): void {
  lua.lua_pushnil(L);
  lua.lua_setglobal(L, keyBytes(name));
}

function removeField(L: LuaState, table: string, field: string): void {
  lua.lua_getglobal(L, keyBytes(table));
  lua.lua_pushnil(L);
  lua.lua_setfield(L, -2, keyBytes(field));
  lua.lua_pop(L, 1);
}

/**
 * Fengari keeps the `!` of a UTC format in the output and formats in local
 * time. Formatting a time shifted by the local offset gives the UTC fields.
 */
const OS_DATE_FIX = `
local date, time = ...
return function(format, t)
  if type(format) == 'string' and format:sub(1, 1) == '!' and format:sub(2, 3) ~= '*t' then
    -- The instant whose local-time fields equal t's UTC fields.
    return date(format:sub(2), time(date('!*t', t or time())))
  end
  return date(format, t)
end
`;

function runChunk(L: LuaState, source: string, name: string, nargs: number, nresults: number): void {
  if (lauxlib.luaL_loadbuffer(L, to_luastring(source), null, to_luastring(`=[kumo-lua ${name}]`)) !== LUA_OK) {
    throw new Error(`internal: ${lua.lua_tojsstring(L, -1)}`);
  }
  lua.lua_insert(L, -(nargs + 1));
  lua.lua_call(L, nargs, nresults);
}

export function installSandbox(L: LuaState): void {
  // KumoMTA exposes no debug library; Fengari's own library and JS access stay out.
  setGlobalNil(L, 'debug');
  setGlobalNil(L, 'fengari');
  for (const f of ['exit', 'execute', 'remove', 'rename', 'tmpname', 'setlocale']) removeField(L, 'os', f);

  lua.lua_getglobal(L, keyBytes('os'));
  lua.lua_getfield(L, -1, keyBytes('date'));
  lua.lua_getfield(L, -2, keyBytes('time'));
  runChunk(L, OS_DATE_FIX, 'os.date', 2, 1);
  lua.lua_setfield(L, -2, keyBytes('date'));
  lua.lua_pop(L, 1);

  installIo(L);
}
