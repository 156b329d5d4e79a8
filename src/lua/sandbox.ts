/**
 * The standard library a KumoMTA policy expects, on Fengari: Fengari's gaps
 * filled and its escape hatches closed (fengari-notes.md Q3, pitfall 6).
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from './fengari.ts';
import { keyBytes } from './strings.ts';
import { installIo } from './stdlib-io.ts';
import { applyStrictMode, installOs, strictFromEnv } from './stdlib-os.ts';

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

/**
 * Binary (precompiled) chunks are refused everywhere source is loaded: a
 * policy never needs them, and Fengari's undump trusts its input, so a
 * damaged chunk can fail outside pcall. `mode` is forced to 't'.
 */
const TEXT_ONLY_LOADERS = `
local real_load, real_loadfile, select, type, error = load, loadfile, select, type, error
local REFUSED = 'binary (precompiled) Lua chunks are refused by kumo-lua; load the source text instead'
local function check_mode(mode)
  if mode ~= nil and type(mode) == 'string' and not mode:find('t', 1, true) then return nil, REFUSED end
  return true
end
load = function(chunk, chunkname, mode, ...)
  local ok, err = check_mode(mode)
  if not ok then return nil, err end
  if type(chunk) == 'string' and chunk:byte(1) == 27 then
    return nil, REFUSED .. ' (' .. (type(chunkname) == 'string' and chunkname or 'chunk') .. ')'
  end
  return real_load(chunk, chunkname, 't', ...)
end
loadfile = function(filename, mode, ...)
  local ok, err = check_mode(mode)
  if not ok then return nil, err end
  local f, lerr = real_loadfile(filename, 't', ...)
  if not f and type(lerr) == 'string' and lerr:find('binary chunk', 1, true) then
    return nil, REFUSED .. ' (' .. tostring(filename) .. ')'
  end
  return f, lerr
end
dofile = function(filename)
  local f, err = loadfile(filename)
  if not f then error(err, 2) end
  return f()
end
`;

function runChunk(L: LuaState, source: string, name: string, nargs: number, nresults: number): void {
  if (lauxlib.luaL_loadbuffer(L, to_luastring(source), null, to_luastring(`=[kumo-lua ${name}]`)) !== LUA_OK) {
    throw new Error(`internal: ${lua.lua_tojsstring(L, -1)}`);
  }
  lua.lua_insert(L, -(nargs + 1));
  lua.lua_call(L, nargs, nresults);
}

export function installSandbox(L: LuaState, strict = strictFromEnv()): void {
  // KumoMTA exposes no debug library; Fengari's own library and JS access stay out.
  setGlobalNil(L, 'debug');
  setGlobalNil(L, 'fengari');
  // Fengari's own exit/execute/remove/rename/tmpname are replaced by installOs.
  // Fengari's loadlib loads JavaScript files into the host.
  removeField(L, 'package', 'loadlib');
  runChunk(L, TEXT_ONLY_LOADERS, 'loaders', 0, 0);

  lua.lua_getglobal(L, keyBytes('os'));
  lua.lua_getfield(L, -1, keyBytes('date'));
  lua.lua_getfield(L, -2, keyBytes('time'));
  runChunk(L, OS_DATE_FIX, 'os.date', 2, 1);
  lua.lua_setfield(L, -2, keyBytes('date'));
  lua.lua_pop(L, 1);

  installIo(L);
  installOs(L);
  if (strict) applyStrictMode(L);
}
