/**
 * kumo.memoize in a worker state. KumoMTA shares a memoize cache (by name)
 * across its Lua contexts, so the cache of a worker's memoized function lives
 * on the main thread (shared-memo.ts), shared by every worker: a call looks
 * its arguments up there, and on a miss this state runs the function and
 * stores the results there. Results cross as JSON (tables, strings, numbers,
 * booleans); one that is not (a function, a userdata) is not cached and the
 * call raises, naming the function.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { checkTable, checkFunction } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { pushText, toText } from '../lua/strings.ts';
import { parseDuration } from '../util/duration.ts';
import { luaToSerde } from '../kumo/support/lua-value.ts';
import { writeJson } from '../kumo/support/json-text.ts';
import type { MemoOptions } from '../kumo/support/memo-cache.ts';
import { fromWire, toWire, type WireJson } from './wire.ts';
import type { RoutedCall } from './worker-surface.ts';

/** What the main thread needs to create the shared cache on first use. */
export interface SharedMemoOptions extends MemoOptions {
  invalidateWithEpoch: boolean;
}

export const MEMO_LOOKUP = '@memo.lookup';
export const MEMO_STORE = '@memo.store';
export const MEMO_ABANDON = '@memo.abandon';

// lookup(...) -> 'hit', key, values... | 'miss', key
const WRAPPER = `
local fn, lookup, store, abandon = ...
local pack, unpack, pcall, error = table.pack, table.unpack, pcall, error
return function(...)
  local r = pack(lookup(...))
  if r[1] == 'hit' then return unpack(r, 3, r.n) end
  local key = r[2]
  local res = pack(pcall(fn, ...))
  if not res[1] then abandon(key) error(res[2], 0) end
  store(key, unpack(res, 2, res.n))
  return unpack(res, 2, res.n)
end
`;

function field(L: LuaState, name: string): unknown {
  lua.lua_getfield(L, 2, to_luastring(name));
  const v = lua.lua_isnil(L, -1) ? undefined : toJson(L, -1);
  lua.lua_pop(L, 1);
  return v;
}

function readOptions(L: LuaState): SharedMemoOptions {
  checkTable(L, 2);
  const name = field(L, 'name');
  if (typeof name !== 'string') throw new Error('kumo.memoize: missing field `name`');
  const ttl = field(L, 'ttl');
  if (ttl === undefined) throw new Error('kumo.memoize: missing field `ttl`');
  const capacity = field(L, 'capacity');
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 0) throw new Error('kumo.memoize: missing or invalid field `capacity`');
  const populate = field(L, 'populate_timeout');
  return {
    name,
    ttlMs: parseDuration(ttl, 'ttl'),
    capacity,
    populateTimeoutMs: populate === undefined ? undefined : parseDuration(populate, 'populate_timeout'),
    retryOnPopulateTimeout: field(L, 'retry_on_populate_timeout') === true,
    allowStaleReads: field(L, 'allow_stale_reads') === true,
    invalidateWithEpoch: field(L, 'invalidate_with_epoch') === true,
  };
}

/** The worker's kumo.memoize. */
export function workerMemoize(call: RoutedCall): (L: LuaState) => number {
  return (L) => {
    checkFunction(L, 1);
    const options = readOptions(L);
    if (lauxlib.luaL_loadbuffer(L, to_luastring(WRAPPER), null, to_luastring('=kumo.memoize')) !== LUA_OK) {
      throw new Error(`kumo.memoize: internal wrapper failed to load: ${toText(L, -1)}`);
    }
    lua.lua_pushvalue(L, 1);
    lua.lua_pushcfunction(
      L,
      asyncFunction(`memoized function ${options.name}`, async (Ls) => {
        const parts: string[] = [];
        for (let i = 1; i <= lua.lua_gettop(Ls); i++) parts.push(writeJson(luaToSerde(Ls, i, { materialize: false }), false));
        const key = `[${parts.join(',')}]`;
        const r = await call(MEMO_LOOKUP, [options as unknown as WireJson, key]);
        return (Lr: LuaState) => {
          lauxlib.luaL_checkstack(Lr, r.length + 2, null);
          pushText(Lr, r[0] as string);
          pushText(Lr, key);
          for (const v of r.slice(1)) pushJson(Lr, fromWire(v), { arrayMarker: true });
          return r.length + 1;
        };
      }),
    );
    lua.lua_pushcfunction(
      L,
      asyncFunction(`memoized function ${options.name}`, async (Ls) => {
        const key = toText(Ls, 1);
        const values: WireJson[] = [];
        try {
          for (let i = 2; i <= lua.lua_gettop(Ls); i++) values.push(toWire(toJson(Ls, i)));
        } catch (err) {
          void call(MEMO_ABANDON, [options.name, key]);
          throw new Error(`kumo.memoize ${options.name}: cannot cache the result on a worker Lua state (--lua-threads): ${(err as Error).message}`);
        }
        await call(MEMO_STORE, [options.name, key, values]);
      }),
    );
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      void call(MEMO_ABANDON, [options.name, toText(Ls, 1)]);
      return 0;
    });
    lua.lua_call(L, 4, 1);
    return 1;
  };
}
