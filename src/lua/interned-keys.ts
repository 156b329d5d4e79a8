/**
 * Table keys pushed from JavaScript, kept as one Lua string per key.
 *
 * Fengari hashes a string key on every table store by building a hex string
 * of its bytes, and lua_setfield makes a fresh (unhashed) Lua string each
 * time. Converting records to tables stores the same few dozen keys again and
 * again; keeping each key's Lua string in a registry table means its hash is
 * computed once per state. Bounded, so arbitrary keys from user data cannot
 * grow it without limit (they fall back to lua_setfield).
 */
import { lua, lauxlib, LUA_REGISTRYINDEX, type LuaState } from './fengari.ts';
import { decodeUtf8Strict, keyBytes } from './strings.ts';

const MAX_KEYS = 4096;

interface KeyCache {
  /** Registry reference of the Lua table holding the key strings, by position. */
  ref: number;
  positions: Map<string, number>;
}

/** One cache per Lua global state (coroutines share their main state's registry). */
const caches = new WeakMap<object, KeyCache>();

function cacheOf(L: LuaState): KeyCache {
  const G = (L as unknown as { l_G: object }).l_G;
  let cache = caches.get(G);
  if (!cache) {
    lua.lua_createtable(L, 64, 0);
    cache = { ref: lauxlib.luaL_ref(L, LUA_REGISTRYINDEX) as number, positions: new Map() };
    caches.set(G, cache);
  }
  return cache;
}

/** With [..., table, value] on top: table[key] = value (a raw set), popping the value. */
export function setFieldInterned(L: LuaState, key: string): void {
  const cache = cacheOf(L);
  let position = cache.positions.get(key);
  lauxlib.luaL_checkstack(L, 2, null);
  if (position === undefined) {
    if (cache.positions.size >= MAX_KEYS) {
      lua.lua_setfield(L, -2, keyBytes(key));
      return;
    }
    position = cache.positions.size + 1;
    lua.lua_rawgeti(L, LUA_REGISTRYINDEX, cache.ref);
    const bytes = keyBytes(key);
    lua.lua_pushlstring(L, bytes, bytes.length);
    lua.lua_rawseti(L, -2, position);
    lua.lua_pop(L, 1);
    cache.positions.set(key, position);
  }
  lua.lua_rawgeti(L, LUA_REGISTRYINDEX, cache.ref); // [table, value, cache]
  lua.lua_rawgeti(L, -1, position); // [table, value, cache, key]
  lua.lua_replace(L, -2); // [table, value, key]
  lua.lua_insert(L, -2); // [table, key, value]
  lua.lua_rawset(L, -3);
}

/** Decoded table keys by their Lua string bytes (fengari hands out the same array for the same string). */
const decodedKeys = new WeakMap<Uint8Array, string | null>();

/** The key's text, or undefined when it is not UTF-8; decoded once per Lua string. */
export function keyTextStrict(bytes: Uint8Array): string | undefined {
  let text = decodedKeys.get(bytes);
  if (text === undefined) {
    text = decodeUtf8Strict(bytes) ?? null;
    decodedKeys.set(bytes, text);
  }
  return text ?? undefined;
}
