/**
 * KumoMTA functions kumo-lua does not provide fail with a message that names
 * them, instead of "attempt to call a nil value". Unknown names stay nil so
 * feature checks like `if kumo.foo then` keep working.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { keyBytes, toText } from '../lua/strings.ts';
import type { LuaRuntime } from '../lua/runtime.ts';
import type { ModuleTable } from './module-table.ts';

/** Top-level kumo.* functions of KumoMTA that have no kumo-lua implementation. */
const NOT_PROVIDED_FUNCTIONS = [
  'configure_bounce_classifier', 'configure_redis_throttles',
  'configure_accounting_db_path', 'set_max_lua_context_age', 'set_max_lua_context_use_count',
  'set_max_spare_lua_contexts', 'set_spoolin_threads', 'set_httpinject_threads', 'set_qmaint_threads',
  'set_smtpsrv_threads', 'set_lua_gc_on_put',
  'start_lmtp_listener', 'generate_rfc3464_message', 'dns_resolve', 'set_memory_hard_limit',
  'set_memory_low_thresh', 'set_memory_soft_limit', 'available_parallelism', 'xfer_message', 'xfer_rebind',
];

/** Sub-modules of KumoMTA that kumo-lua does not provide at all. */
const NOT_PROVIDED_MODULES = ['dkim', 'dns', 'mpsc', 'jsonl', 'nats', 'sqlite', 'redis', 'memcache', 'mongodb', 'cidr', 'domain_map', 'fs', 'api'];

function notProvided(name: string): (L: LuaState) => number {
  return () => {
    throw new Error(`${name} is not provided by kumo-lua (it covers log hooks, queues and custom_lua delivery; see README "Differences from KumoMTA")`);
  };
}

function setIndexStub(runtime: LuaRuntime, ref: number, prefix: string, known: ReadonlySet<string> | null): void {
  const L = runtime.L;
  runtime.pushRef(L, ref);
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushcfunction(L, (Li: LuaState) => {
    const key = lua.lua_type(Li, 2) === lua.LUA_TSTRING ? toText(Li, 2) : '';
    if (known === null || known.has(key)) {
      lua.lua_pushcfunction(Li, notProvided(`${prefix}.${key}`));
      return 1;
    }
    lua.lua_pushnil(Li);
    return 1;
  });
  lua.lua_setfield(L, -2, keyBytes('__index'));
  lua.lua_setmetatable(L, -2);
  lua.lua_pop(L, 1);
}

export function installUnsupportedStubs(runtime: LuaRuntime, kumo: ModuleTable): void {
  for (const mod of NOT_PROVIDED_MODULES) {
    const sub = kumo.sub(mod);
    setIndexStub(runtime, sub.ref, `kumo.${mod}`, null);
  }
  setIndexStub(runtime, kumo.ref, 'kumo', new Set(NOT_PROVIDED_FUNCTIONS));
}
