/**
 * The Lua face shared by kumo.domain_map, kumo.cidr and kumo.regex_set_map
 * (lua-api-more §3.1–§3.3): `map[key]` reads, `map[key] = v` writes (or
 * raises for immutable maps), values copied in and out (stored-value.ts), and
 * no iteration: `pairs(map)` and `#map` raise.
 */
import { lua, type LuaCFunction, type LuaState, LUA_TNUMBER, LUA_TSTRING } from '../../lua/fengari.ts';
import type { LuaRuntime } from '../../lua/runtime.ts';
import { LuaClass } from '../../lua/userdata.ts';
import { toText } from '../../lua/strings.ts';
import { typeNameAt } from '../../lua/marshal.ts';
import { pushStoredValue, releaseStoredValue, storeValue, type StoredValue } from './stored-value.ts';

/** A map's storage; `set` is absent for immutable maps. */
export interface HostMap {
  readonly runtime: LuaRuntime;
  get(key: string): StoredValue | undefined;
  set?(key: string, value: StoredValue): StoredValue | undefined;
}

/** Map keys are strings; numbers become their text; anything else raises. */
export function mapKey(L: LuaState, idx: number, what: string): string {
  const t = lua.lua_type(L, idx);
  if (t === LUA_TSTRING || t === LUA_TNUMBER) return toText(L, idx);
  throw new Error(`${what}: a key must be a string, got ${typeNameAt(L, idx)}`);
}

export function defineMapClass<T extends HostMap>(name: string, luaName: string): LuaClass<T> {
  const cls: LuaClass<T> = new LuaClass<T>({
    name,
    meta: {
      __index: (L) => {
        const map = cls.check(L, 1);
        const found = map.get(mapKey(L, 2, luaName));
        if (found === undefined) lua.lua_pushnil(L);
        else pushStoredValue(map.runtime, L, found);
        return 1;
      },
      __newindex: (L) => {
        const map = cls.check(L, 1);
        if (!map.set) throw new Error(`${luaName} is immutable: assignment is not allowed`);
        const key = mapKey(L, 2, luaName);
        const previous = map.set(key, storeValue(map.runtime, L, 3, false));
        if (previous) releaseStoredValue(map.runtime, previous);
        return 0;
      },
      __pairs: () => {
        throw new Error(`${luaName} cannot be iterated`);
      },
      __len: () => {
        throw new Error(`${luaName} has no length`);
      },
    },
  });
  return cls;
}

/** Fills a new map from the optional `initial` table at `idx` (string or number keys). */
export function fillFromTable(L: LuaState, idx: number, luaName: string, insert: (key: string, value: StoredValue) => void, runtime: LuaRuntime): void {
  if (lua.lua_type(L, idx) <= 0) return;
  if (!lua.lua_istable(L, idx)) throw new Error(`${luaName}: the initial value must be a table, got ${typeNameAt(L, idx)}`);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx) !== 0) {
    // Copy the key so reading it as text never confuses lua_next.
    lua.lua_pushvalue(L, -2);
    const key = mapKey(L, -1, luaName);
    lua.lua_pop(L, 1);
    insert(key, storeValue(runtime, L, -1, false));
    lua.lua_pop(L, 1);
  }
}

/** A Lua constructor `new([initial])` for a map class: builds, fills from the table, pushes. */
export function mapConstructor<T extends HostMap>(cls: LuaClass<T>, luaName: string, create: () => T, insert: (map: T, key: string, value: StoredValue) => void): LuaCFunction {
  return (L) => {
    const map = create();
    fillFromTable(L, 1, luaName, (k, v) => insert(map, k, v), map.runtime);
    lua.lua_settop(L, 0);
    cls.push(L, map);
    return 1;
  };
}
