/**
 * KumoMTA functions kumo-lua does not provide fail with a message that names
 * them, instead of "attempt to call a nil value". Unknown names stay nil so
 * feature checks like `if kumo.foo then` keep working.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { keyBytes, toText } from '../lua/strings.ts';
import type { LuaRuntime } from '../lua/runtime.ts';
import type { ModuleTable } from './module-table.ts';

/**
 * Top-level kumo.* functions of KumoMTA that have no kumo-lua implementation.
 * Remove a name here when it becomes real.
 */
const NOT_PROVIDED_FUNCTIONS = [
  'configure_redis_throttles', 'start_lmtp_listener', 'dns_resolve', 'xfer_message', 'xfer_rebind',
];

/** Sub-modules of KumoMTA that kumo-lua does not provide at all. */
const NOT_PROVIDED_MODULES = ['nats', 'redis', 'memcache', 'mongodb', 'rspamd'];

/** Sub-modules kumo-lua provides in part: the functions listed here are not provided. */
const PARTLY_PROVIDED_MODULES: Record<string, readonly string[]> = {
  // Resource hierarchies outside the HTTP listener are not modelled (ACLs themselves are real).
  aaa: ['make_http_url_resource', 'query_resource_access'],
  // DMARC aggregate reporting: nothing would send the reports (check_msg is real).
  dmarc: ['start_dmarc_reporter', 'set_report_window_in_seconds'],
  // One node: xfer_in_requeue is accepted (it keeps the message here); these move messages.
  xfer: ['xfer', 'cancel_xfer', 'get_xfer_target'],
};

function notProvided(name: string): (L: LuaState) => number {
  return () => {
    throw new Error(`${name} is not provided by kumo-lua (see the "Not provided" list in its README)`);
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
  for (const [path, names] of Object.entries(PARTLY_PROVIDED_MODULES)) {
    const sub = path.split('.').reduce((table, name) => table.sub(name), kumo);
    setIndexStub(runtime, sub.ref, `kumo.${path}`, new Set(names));
  }
  setIndexStub(runtime, kumo.ref, 'kumo', new Set(NOT_PROVIDED_FUNCTIONS));
}
