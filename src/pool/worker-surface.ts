/**
 * The `kumo` module as a worker state sees it (lua-api.md §1.1, §2.4). Every
 * function of the main state's module is installed, then each is sorted:
 *
 * - native: pure or per-state functions (serde, string, encode, digest,
 *   crypto, regex, uuid, time, http, fs, secrets, sqlite, kafka, amqp, the
 *   make_* validators, kumo.on, kumo.reject, logging) run in the worker;
 * - routed: engine-facing functions whose arguments and results are JSON run
 *   on the main state through the pool's one cross-thread call (RoutedCall):
 *   the worker's coroutine waits like on any other I/O; kumo.memoize keeps
 *   its cache on the main thread, shared by every worker (worker-memoize.ts),
 *   and kumo.make_throttle's objects forward to the main state's throttles
 *   (worker-throttle.ts);
 * - everything else raises a Lua error naming the function and saying it is
 *   not available on worker states yet. Nothing engine-facing falls back to a
 *   silent per-worker copy.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from '../lua/fengari.ts';
import { workerMemoize } from './worker-memoize.ts';
import { workerMakeThrottle } from './worker-throttle.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { toText } from '../lua/strings.ts';
import type { KumoContext } from '../kumo/context.ts';
import { MESSAGE_INJECTOR, MESSAGE_SAVER } from '../message/store-slot.ts';
import { LUA_LATENCY } from '../kumo/time.ts';
import { fromWire, INJECT_CALL, LATENCY_CALL, snapshotOf, toWire, type WireJson } from './wire.ts';

/** Runs kumo.<fn> on the main state with JSON arguments; resolves with its JSON results. */
export type RoutedCall = (fn: string, args: WireJson[]) => Promise<WireJson[]>;

const NATIVE_PREFIXES = [
  'kumo.serde.', 'kumo.string.', 'kumo.encode.', 'kumo.digest.', 'kumo.crypto.', 'kumo.regex.', 'kumo.uuid.',
  'kumo.time.', 'kumo.file_type.', 'kumo.mimepart.', 'kumo.http.', 'kumo.fs.', 'kumo.secrets.', 'kumo.domain_map.',
  'kumo.cidr.', 'kumo.regex_set_map.', 'kumo.sqlite.', 'kumo.kafka.', 'kumo.amqp.',
];

const NATIVE = new Set([
  'kumo.on', 'kumo.get_event_registrars', 'kumo.reject', 'kumo.disconnect', 'kumo.traceback',
  'kumo.log_debug', 'kumo.log_info', 'kumo.log_warn', 'kumo.log_error',
  'kumo.json_encode', 'kumo.json_encode_pretty', 'kumo.json_load', 'kumo.json_parse',
  'kumo.toml_encode', 'kumo.toml_encode_pretty', 'kumo.toml_load', 'kumo.toml_parse',
  'kumo.sleep', 'kumo.glob', 'kumo.uncached_glob', 'kumo.read_dir', 'kumo.make_message',
  'kumo.make_queue_config', 'kumo.make_egress_path', 'kumo.make_egress_source', 'kumo.make_egress_pool',
  'kumo.make_listener_domain', 'kumo.available_parallelism', 'kumo.get_memory_hard_limit',
  'kumo.get_memory_low_thresh', 'kumo.get_memory_soft_limit', 'kumo.generate_rfc3464_message',
  'kumo.dns.reverse_ip', 'kumo.dns.ptr_host', 'kumo.dkim.rsa_sha256_signer', 'kumo.dkim.ed25519_signer',
]);

/** Native-looking names that still reach shared state: not available (yet). */
const NOT_NATIVE = new Set<string>([]);

/** Engine-facing functions with JSON arguments and results, run on the main state. */
export const ROUTED = new Set([
  'kumo.api.admin.bounce.bounce', 'kumo.api.admin.bounce.list', 'kumo.api.admin.bounce.delete',
  'kumo.api.admin.suspend.suspend', 'kumo.api.admin.suspend.list', 'kumo.api.admin.suspend.delete',
  'kumo.api.admin.suspend_ready_q.suspend', 'kumo.api.admin.suspend_ready_q.list', 'kumo.api.admin.suspend_ready_q.delete',
  'kumo.dns.lookup_mx', 'kumo.dns.lookup_addr', 'kumo.dns.lookup_txt', 'kumo.dns.lookup_ptr', 'kumo.dns.rbl_lookup',
  'kumo.bump_config_epoch', 'kumo.prometheus_metrics',
]);

export type Placement = 'native' | 'routed' | 'unavailable';

/** Functions that reach the main thread their own way: a memoized function's cache, a throttle's state, the engine's queue. */
const ROUTED_OBJECTS = new Set(['kumo.memoize', 'kumo.make_throttle', 'kumo.inject_message']);

export function placementOf(name: string): Placement {
  if (ROUTED.has(name) || ROUTED_OBJECTS.has(name)) return 'routed';
  if (NOT_NATIVE.has(name)) return 'unavailable';
  if (NATIVE.has(name) || NATIVE_PREFIXES.some((p) => name.startsWith(p))) return 'native';
  return 'unavailable';
}

export function unavailableMessage(name: string): string {
  return (
    `${name} is not available on worker Lua states yet (--lua-threads): it reaches the daemon's shared state. ` +
    `Only custom_lua connections (constructor, send, send_batch, close) run on worker states; ` +
    `call it from another event, which runs on the main state, or run without --lua-threads`
  );
}

function unavailable(name: string): (L: LuaState) => number {
  return () => {
    throw new Error(unavailableMessage(name));
  };
}

function routed(name: string, call: RoutedCall) {
  return asyncFunction(name, async (L) => {
    const args: WireJson[] = [];
    for (let i = 1; i <= lua.lua_gettop(L); i++) args.push(toWire(toJson(L, i)));
    const values = await call(name, args);
    return (Lr: LuaState) => {
      for (const v of values) pushJson(Lr, fromWire(v), { arrayMarker: true });
      return values.length;
    };
  });
}

const WALK = `
local decide = ...
local kumo = require 'kumo'
local seen = {}
local function walk(t, prefix)
  if seen[t] then return end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do if type(k) == 'string' then keys[#keys + 1] = k end end
  for _, k in ipairs(keys) do
    local v = rawget(t, k)
    if type(v) == 'function' then
      local replacement = decide(prefix .. k)
      if replacement then rawset(t, k, replacement) end
    elseif type(v) == 'table' then
      walk(v, prefix .. k .. '.')
    end
  end
end
walk(kumo, 'kumo.')
`;

/** Sorts the worker state's kumo functions (see the file comment); call before loading the policy. */
export async function restrictToWorkerSurface(ctx: KumoContext, call: RoutedCall): Promise<void> {
  ctx.provide(MESSAGE_SAVER, async () => {
    throw new Error(unavailableMessage('msg:save()'));
  });
  // kumo.inject_message itself runs here (it checks the message); the engine is reached through the main thread.
  ctx.provide(MESSAGE_INJECTOR, async (msg, opts) => {
    await call(INJECT_CALL, [snapshotOf(msg) as WireJson, opts.deferredSpool]);
  });
  // kumo.time.start_timer runs here; timer:done() records into the main thread's histogram.
  ctx.provide(LUA_LATENCY, {
    observe: (label, seconds) => void call(LATENCY_CALL, [label, seconds]).catch(() => undefined),
  });
  const decide = (L: LuaState): number => {
    const name = toText(L, 1);
    if (name === 'kumo.memoize') {
      lua.lua_pushcfunction(L, workerMemoize(call));
      return 1;
    }
    if (name === 'kumo.inject_message') return 0; // native, through MESSAGE_INJECTOR above
    if (name === 'kumo.make_throttle') {
      lua.lua_pushcfunction(L, workerMakeThrottle(call, unavailableMessage));
      return 1;
    }
    switch (placementOf(name)) {
      case 'native':
        return 0;
      case 'routed':
        lua.lua_pushcfunction(L, routed(name, call));
        return 1;
      default:
        lua.lua_pushcfunction(L, unavailable(name));
        return 1;
    }
  };
  await ctx.runtime.call(
    'worker-surface',
    (co) => {
      if (lauxlib.luaL_loadbuffer(co, to_luastring(WALK), null, to_luastring('=[kumo-lua worker surface]')) !== LUA_OK) {
        throw new Error(`internal: ${toText(co, -1)}`);
      }
    },
    (co) => (lua.lua_pushcfunction(co, decide), 1),
    () => undefined,
  );
}
