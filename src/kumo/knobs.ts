/**
 * Runtime tuning knobs (lua-api-more.md §9). They tune KumoMTA's Rust
 * runtime (thread pools, Lua context pools, memory limits), which kumo-lua
 * does not have: each is accepted with its argument type checked, so a typo
 * fails as in KumoMTA, and does nothing; the first call of each says so at
 * `info` level. The few with a kumo-lua meaning are kept in RuntimeKnobs.
 */
import { availableParallelism } from 'node:os';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, isNoneOrNil, typeNameOrNone } from '../lua/args.ts';
import { pushNumber } from '../lua/marshal.ts';
import { parseThrottleSpec } from '../queue/throttle.ts';
import { StructReader } from './support/struct-args.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import { EGRESS_RESOLVER } from './egress.ts';
import type { ModuleTable } from './module-table.ts';

/** Knobs the daemon reads when it starts the engine. */
export class RuntimeKnobs {
  suspendDeliveryWhenSpoolUnhealthy = true;
  /** kumo.configure_accounting_db_path (§3.7): remembered; kumo-lua keeps no accounting database. */
  accountingDbPath = '/var/spool/kumomta/accounting.db';
  memory: Record<'hard_limit' | 'soft_limit' | 'low_thresh', number | null> = { hard_limit: null, soft_limit: null, low_thresh: null };
}

export const RUNTIME_KNOBS = new ServiceSlot<RuntimeKnobs>('the runtime knobs');

export function runtimeKnobsOf(ctx: KumoContext): RuntimeKnobs {
  let knobs = ctx.optional(RUNTIME_KNOBS);
  if (!knobs) ctx.provide(RUNTIME_KNOBS, (knobs = new RuntimeKnobs()));
  return knobs;
}

/** Thread and Lua-context counts: kumo-lua runs one Node event loop and one Lua state. */
const COUNT_KNOBS = [
  'set_httpinject_threads', 'set_smtpsrv_threads', 'set_qmaint_threads', 'set_ready_qmaint_threads', 'set_readyq_threads',
  'set_spoolin_threads', 'set_logging_threads', 'set_max_spare_lua_contexts', 'set_max_lua_context_use_count', 'set_max_lua_context_age',
];

/** Every knob accepted and ignored; the README lists them (a test keeps the two in step). */
export const IGNORED_KNOBS: readonly string[] = [
  ...COUNT_KNOBS, 'spawn_thread_pool', 'set_lua_gc_on_put', 'set_memory_hard_limit', 'set_memory_soft_limit', 'set_memory_low_thresh',
  'enable_memory_callstack_tracking', 'set_timeq_spawn_reinsertion', 'set_httpinject_recipient_rate_limit', 'set_lruttl_cache_capacity',
  'configure_accounting_db_path', 'dkim.set_signing_threads',
];

const LRUTTL_CACHES = [
  'acl_check', 'acl_definition', 'dkim_key_cache', 'dkim_signer_cache', 'dns_resolver_ip', 'dns_resolver_ipv4', 'dns_resolver_ipv6',
  'dns_resolver_mx', 'egress_source_pools', 'egress_source_sources', 'http_server_auth', 'mod_filesystem_glob_cache', 'mta_sts_policy',
  'rustls_client_config', 'smtp_dispatcher_broken_tls', 'smtp_dispatcher_client_certificate', 'smtp_server_tls_config',
];

/** A non-negative integer: integer, integral float or numeric string (KumoMTA's `usize` from Lua). */
export function argCount(L: LuaState, i: number, what: string): number {
  const t = lua.lua_type(L, i);
  let n = Number.NaN;
  if (t === lua.LUA_TNUMBER) n = Number(lua.lua_tonumber(L, i));
  else if (t === lua.LUA_TSTRING) n = Number(argString(L, i).trim());
  if (!Number.isInteger(n) || n < 0) {
    const shown = t === lua.LUA_TNUMBER || t === lua.LUA_TSTRING ? JSON.stringify(argString(L, i)) : typeNameOrNone(L, i);
    throw new Error(`${what}: expected a non-negative integer, got ${shown}`);
  }
  return n;
}

function argBool(L: LuaState, i: number, what: string): boolean {
  if (lua.lua_type(L, i) !== lua.LUA_TBOOLEAN) throw new Error(`${what}: expected a boolean, got ${typeNameOrNone(L, i)}`);
  return lua.lua_toboolean(L, i) as boolean;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const knobs = runtimeKnobsOf(ctx);
  const told = new Set<string>();
  const ignored = (name: string): void => {
    if (told.has(name)) return;
    told.add(name);
    ctx.log.write('info', `kumo.${name}: accepted and ignored (it tunes KumoMTA's Rust runtime; kumo-lua has no equivalent)`);
  };

  for (const name of COUNT_KNOBS) {
    kumo.fn(name, (L) => {
      argCount(L, 1, `kumo.${name}`);
      ignored(name);
      return 0;
    });
  }
  let signingThreadsSet = false;
  kumo.sub('dkim').fn('set_signing_threads', (L) => {
    argCount(L, 1, 'kumo.dkim.set_signing_threads');
    if (signingThreadsSet) throw new Error('kumo.dkim.set_signing_threads: the DKIM signing pool is already configured');
    signingThreadsSet = true;
    ignored('dkim.set_signing_threads');
    return 0;
  });
  kumo.fn('spawn_thread_pool', (L) => {
    const p = new StructReader(L, 1);
    p.string('name');
    const n = p.optInteger('num_threads');
    if (n === undefined) p.fail('missing field `num_threads`');
    ignored('spawn_thread_pool');
    return 0;
  });
  kumo.fn('set_lua_gc_on_put', (L) => {
    const n = argCount(L, 1, 'kumo.set_lua_gc_on_put');
    if (n > 255) throw new Error(`kumo.set_lua_gc_on_put: expected an integer 0-255, got ${n}`);
    ignored('set_lua_gc_on_put');
    return 0;
  });
  kumo.fn('set_lruttl_cache_capacity', (L) => {
    const name = argString(L, 1);
    const capacity = argCount(L, 2, 'kumo.set_lruttl_cache_capacity');
    if (!LRUTTL_CACHES.includes(name)) throw new Error(`kumo.set_lruttl_cache_capacity: cache ${JSON.stringify(name)} does not exist; expected one of ${LRUTTL_CACHES.join(', ')}`);
    if (name === 'egress_source_pools' || name === 'egress_source_sources') ctx.require(EGRESS_RESOLVER, 'kumo.set_lruttl_cache_capacity').setCapacity(name, capacity);
    else ignored('set_lruttl_cache_capacity');
    return 0;
  });
  for (const which of ['hard_limit', 'soft_limit', 'low_thresh'] as const) {
    kumo.fn(`set_memory_${which}`, (L) => {
      knobs.memory[which] = argCount(L, 1, `kumo.set_memory_${which}`);
      ignored(`set_memory_${which}`);
      return 0;
    });
    kumo.fn(`get_memory_${which}`, (L) => {
      const v = knobs.memory[which];
      if (v === null) lua.lua_pushnil(L);
      else pushNumber(L, v);
      return 1;
    });
  }
  kumo.fn('available_parallelism', (L) => {
    const env = process.env.KUMO_AVAILABLE_PARALLELISM;
    let n = availableParallelism();
    if (env !== undefined) {
      n = Number(env.trim());
      if (!Number.isInteger(n) || n < 0) throw new Error(`kumo.available_parallelism: KUMO_AVAILABLE_PARALLELISM=${JSON.stringify(env)} is not a number`);
    }
    lua.lua_pushinteger(L, n);
    return 1;
  });
  kumo.fn('configure_accounting_db_path', (L) => {
    knobs.accountingDbPath = argString(L, 1);
    ignored('configure_accounting_db_path');
    return 0;
  });
  kumo.fn('enable_memory_callstack_tracking', (L) => {
    argBool(L, 1, 'kumo.enable_memory_callstack_tracking');
    ignored('enable_memory_callstack_tracking');
    return 0;
  });
  kumo.fn('suspend_delivery_when_spool_unhealthy', (L) => {
    knobs.suspendDeliveryWhenSpoolUnhealthy = argBool(L, 1, 'kumo.suspend_delivery_when_spool_unhealthy');
    return 0;
  });
  kumo.fn('set_timeq_spawn_reinsertion', (L) => {
    argBool(L, 1, 'kumo.set_timeq_spawn_reinsertion');
    ctx.log.write('warn', 'kumo.set_timeq_spawn_reinsertion is deprecated and has no effect');
    return 0;
  });
  kumo.fn('set_httpinject_recipient_rate_limit', (L) => {
    if (!isNoneOrNil(L, 1)) {
      const spec = argString(L, 1);
      try {
        parseThrottleSpec(spec);
      } catch (err) {
        throw new Error(`kumo.set_httpinject_recipient_rate_limit: ${(err as Error).message}`);
      }
    }
    ignored('set_httpinject_recipient_rate_limit');
    return 0;
  });
}
