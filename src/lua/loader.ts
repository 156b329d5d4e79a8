/**
 * Where `require` looks: the --lua-path / KUMO_LUA_PATH directories, then the
 * policy's own directory, then kumo-lua's `lua/` (our policy-extras), then
 * Fengari's defaults. Only Lua files load; Fengari's `.js` searchers are gone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lua, lauxlib, to_luastring, LUA_OK, type LuaState } from './fengari.ts';
import { keyBytes, toText } from './strings.ts';

/** kumo-lua's own Lua directory (policy-extras written by us). */
export const BUNDLED_LUA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lua');

/** KumoMTA helper modules that kumo-lua does not ship. */
const KUMOMTA_HELPERS_NOT_SHIPPED = new Set(['policy-extras.tsa']);

export function modulePath(dirs: readonly string[]): string {
  return dirs.flatMap((d) => [path.join(d, '?.lua'), path.join(d, '?', 'init.lua')]).join(';');
}

function notShippedSearcher(L: LuaState): number {
  const name = toText(L, 1);
  if (KUMOMTA_HELPERS_NOT_SHIPPED.has(name) || name.startsWith('policy-extras.')) {
    lua.lua_pushstring(
      L,
      to_luastring(
        `\n\tkumo-lua does not ship KumoMTA's '${name}'; point --lua-path (or KUMO_LUA_PATH) at the directory ` +
          `that holds KumoMTA's policy-extras, e.g. --lua-path /opt/kumomta/share`,
      ),
    );
    return 1;
  }
  return 0;
}

/**
 * The Lua-file searcher, loading through the sandbox's text-only `loadfile`
 * so `require` refuses a precompiled module like `load` does.
 */
const TEXT_FILE_SEARCHER = `
local searchpath, loadfile, error, format = package.searchpath, loadfile, error, string.format
return function(name)
  local filename, err = searchpath(name, package.path)
  if not filename then return err end
  local chunk, lerr = loadfile(filename)
  if not chunk then error(format("error loading module '%s' from file '%s':\\n\\t%s", name, filename, lerr), 0) end
  return chunk, filename
end
`;

/** Sets package.path and replaces package.searchers. */
export function configureLoader(L: LuaState, searchDirs: readonly string[]): void {
  lua.lua_getglobal(L, keyBytes('package'));
  lua.lua_getfield(L, -1, keyBytes('path'));
  const defaults = toText(L, -1);
  lua.lua_pop(L, 1);
  lua.lua_pushstring(L, to_luastring(`${modulePath(searchDirs)};${defaults}`));
  lua.lua_setfield(L, -2, keyBytes('path'));
  lua.lua_pushliteral(L, '');
  lua.lua_setfield(L, -2, keyBytes('jspath'));
  lua.lua_pushliteral(L, '');
  lua.lua_setfield(L, -2, keyBytes('cpath'));

  // Keep the preload searcher (1), our text-only Lua-file searcher; drop the JS ones.
  lua.lua_getfield(L, -1, keyBytes('searchers'));
  lua.lua_createtable(L, 3, 0);
  lua.lua_rawgeti(L, -2, 1);
  lua.lua_rawseti(L, -2, 1);
  if (lauxlib.luaL_loadstring(L, to_luastring(TEXT_FILE_SEARCHER)) !== LUA_OK) throw new Error(`internal: ${lua.lua_tojsstring(L, -1)}`);
  lua.lua_call(L, 0, 1);
  lua.lua_rawseti(L, -2, 2);
  lua.lua_pushcfunction(L, notShippedSearcher);
  lua.lua_rawseti(L, -2, 3);
  lua.lua_setfield(L, -3, keyBytes('searchers'));
  lua.lua_pop(L, 2);
}
