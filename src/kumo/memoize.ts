/**
 * kumo.memoize(fn, params) (lua-api.md §13.8): returns a function that caches
 * fn's results per JSON-encoded argument list for `ttl`, keeping at most
 * `capacity` entries (least recently used evicted). Concurrent callers of a
 * missing key wait for the one that populates it.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { checkFunction } from '../lua/args.ts';
import { pushText, toBytes } from '../lua/strings.ts';
import { parseDuration } from '../util/duration.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { MemoCache, type MemoOptions } from './support/memo-cache.ts';
import { StructReader } from './support/struct-args.ts';
import { luaToSerde } from './support/lua-value.ts';
import { writeJson } from './support/json-text.ts';
import { pushStoredValue, releaseStoredValue, storeValue as storeStoredValue, type StoredValue } from './support/stored-value.ts';
import { configEpochOf } from './epoch.ts';

type Stored = StoredValue;

// lookup(...) -> 'hit', key, values... | 'miss', key | 'wait', key
const WRAPPER = `
local fn, lookup, store, wait, abandon = ...
local pack, unpack = table.pack, table.unpack
return function(...)
  for _ = 1, 1000 do
    local r = pack(lookup(...))
    local status, key = r[1], r[2]
    if status == 'hit' then return unpack(r, 3, r.n) end
    if status == 'miss' then
      local res = pack(pcall(fn, ...))
      if not res[1] then abandon(key) error(res[2], 0) end
      store(key, unpack(res, 2, res.n))
      return unpack(res, 2, res.n)
    end
    if not wait(key) then return fn(...) end
  end
  return fn(...)
end
`;

function readOptions(L: LuaState): MemoOptions & { invalidateWithEpoch: boolean } {
  const p = new StructReader(L, 2);
  const duration = (name: string, required: boolean): number | undefined => {
    const raw = p.optDurationInput(name);
    if (raw === undefined) return required ? p.fail(`missing field \`${name}\``) : undefined;
    try {
      return parseDuration(raw, name);
    } catch (err) {
      return p.fail((err as Error).message);
    }
  };
  const name = p.string('name');
  const ttlMs = duration('ttl', true)!;
  const capacity = p.optInteger('capacity') ?? p.fail('missing field `capacity`');
  if (capacity < 0) p.fail(`invalid value: integer \`${capacity}\`, expected usize`);
  const invalidateWithEpoch = p.optBoolean('invalidate_with_epoch') ?? false;
  return {
    invalidateWithEpoch,
    name,
    ttlMs,
    capacity,
    populateTimeoutMs: duration('populate_timeout', false),
    retryOnPopulateTimeout: p.optBoolean('retry_on_populate_timeout') ?? false,
    allowStaleReads: p.optBoolean('allow_stale_reads') ?? false,
  };
}

function cacheKey(L: LuaState): string {
  const n = lua.lua_gettop(L);
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) parts.push(writeJson(luaToSerde(L, i, { materialize: false }), false));
  return `[${parts.join(',')}]`;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const runtime = ctx.runtime;

  const storeValue = (L: LuaState, idx: number): Stored => storeStoredValue(runtime, L, idx);
  const pushStored = (L: LuaState, s: Stored): void => pushStoredValue(runtime, L, s);

  kumo.fn('memoize', (L) => {
    checkFunction(L, 1);
    const options = readOptions(L);
    const release = (values: Stored[]) => {
      for (const v of values) releaseStoredValue(runtime, v);
    };
    const cache = new MemoCache<Stored[]>(options, ctx.clock, release);
    if (options.invalidateWithEpoch) configEpochOf(ctx).subscribe(() => cache.clear());

    if (lauxlib.luaL_loadbuffer(L, to_luastring(WRAPPER), null, to_luastring('=kumo.memoize')) !== LUA_OK) {
      throw new Error(`kumo.memoize: internal wrapper failed to load: ${lua.lua_tojsstring(L, -1)}`);
    }
    lua.lua_pushvalue(L, 1);
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      const key = cacheKey(Ls);
      const found = cache.lookup(key);
      lauxlib.luaL_checkstack(Ls, 4 + (found.status === 'hit' ? found.value.length : 0), null);
      pushText(Ls, found.status);
      pushText(Ls, key);
      if (found.status !== 'hit') return 2;
      for (const v of found.value) pushStored(Ls, v);
      return 2 + found.value.length;
    });
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      const key = new TextDecoder().decode(toBytes(Ls, 1));
      const values: Stored[] = [];
      const n = lua.lua_gettop(Ls);
      try {
        for (let i = 2; i <= n; i++) values.push(storeValue(Ls, i));
      } catch (err) {
        release(values);
        cache.abandon(key);
        throw new Error(`kumo.memoize ${options.name}: cannot cache the result: ${(err as Error).message}`);
      }
      cache.store(key, values);
      return 0;
    });
    lua.lua_pushcfunction(
      L,
      asyncFunction(`memoized function ${options.name}`, async (Ls) => {
        const key = new TextDecoder().decode(toBytes(Ls, 1));
        const settled = await cache.wait(key);
        if (!settled && !options.retryOnPopulateTimeout) {
          throw new Error(`kumo.memoize ${options.name}: timed out waiting for another caller to populate the cache`);
        }
        return (Lr: LuaState) => {
          lua.lua_pushboolean(Lr, settled);
          return 1;
        };
      }),
    );
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      cache.abandon(new TextDecoder().decode(toBytes(Ls, 1)));
      return 0;
    });
    lua.lua_call(L, 5, 1);
    return 1;
  });
}
