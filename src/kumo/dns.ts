/**
 * kumo.dns (lua-api-more §4): lookups are async and go through src/dns; the
 * configuration functions are sync and change the process-wide DnsService.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { argBoolean, argInteger, argString, optString } from '../lua/args.ts';
import { toJson } from '../lua/marshal.ts';
import { keyBytes, pushText } from '../lua/strings.ts';
import { parseDuration } from '../util/duration.ts';
import type { JsonValue } from '../util/json.ts';
import {
  ADDR_STRATEGIES, lookupAddr, lookupPtr, lookupTxt, processDns, ptrHost, rblLookup, resolveMx, reverseIp,
  type AddrStrategy, type DnsService, type MxResolution,
} from '../dns/index.ts';
import { buildResolver, parseTestConfig } from '../dns/resolver-config.ts';
import { TestResolver } from '../dns/test-resolver.ts';
import { parseMtaStsPolicy, type MtaStsPolicy } from '../dns/mta-sts.ts';
import { loadResolvConf } from '../dns/resolv-conf.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';
import { pushJsonArrays } from './support/push-json.ts';

/** Lets a test or the policy harness give a context its own DNS configuration. */
export const DNS_SERVICE = new ServiceSlot<DnsService>('the DNS configuration');

function pushMx(L: LuaState, mx: MxResolution): number {
  const { by_pref: byPref, expires_at_ms: _expires, ...rest } = mx;
  pushJsonArrays(L, rest as unknown as JsonValue);
  lua.lua_createtable(L, 0, Object.keys(byPref).length);
  for (const [pref, hosts] of Object.entries(byPref)) {
    pushJsonArrays(L, hosts);
    lua.lua_rawseti(L, -2, Number(pref));
  }
  lua.lua_setfield(L, -2, keyBytes('by_pref'));
  return 1;
}

function pushStrings(list: string[]): LuaReturn {
  return (L) => {
    pushJsonArrays(L, list);
    return 1;
  };
}

function optStrategy(L: LuaState, i: number): AddrStrategy {
  const s = optString(L, i);
  if (s === undefined) return 'Ipv4AndIpv6';
  if (!(ADDR_STRATEGIES as readonly string[]).includes(s)) {
    throw new Error(`unknown variant \`${s}\`, expected one of \`${ADDR_STRATEGIES.join('`, `')}\``);
  }
  return s as AddrStrategy;
}

function durationArg(L: LuaState, i: number, what: string): number {
  const raw = lua.lua_type(L, i) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, i) : argString(L, i);
  return parseDuration(raw, what);
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const dns = (): DnsService => ctx.optional(DNS_SERVICE) ?? processDns;
  // A process has one policy context (kumod), so a new context starts from a fresh DNS
  // configuration: each `kumo-lua test` case gets its own, as a new kumod would. Cache
  // lifetimes follow the context's clock (virtual time in tests).
  if (!ctx.optional(DNS_SERVICE)) processDns.reset(ctx.clock);
  const m = kumo.sub('dns');

  m.fn('lookup_mx', asyncFunction('kumo.dns.lookup_mx', async (L) => {
    const domain = argString(L, 1);
    const resolverName = optString(L, 2);
    const mx = await resolveMx(domain, resolverName, dns());
    return (Ls) => pushMx(Ls, mx);
  }));
  m.fn('lookup_addr', asyncFunction('kumo.dns.lookup_addr', async (L) => {
    const name = argString(L, 1);
    const resolverName = optString(L, 2);
    const strategy = optStrategy(L, 3);
    return pushStrings(await lookupAddr(name, resolverName, strategy, dns()));
  }));
  m.fn('lookup_txt', asyncFunction('kumo.dns.lookup_txt', async (L) => {
    const name = argString(L, 1);
    const resolverName = optString(L, 2);
    return pushStrings(await lookupTxt(name, resolverName, dns()));
  }));
  m.fn('lookup_ptr', asyncFunction('kumo.dns.lookup_ptr', async (L) => {
    const ip = argString(L, 1);
    const resolverName = optString(L, 2);
    return pushStrings(await lookupPtr(ip, resolverName, dns()));
  }));
  m.fn('rbl_lookup', asyncFunction('kumo.dns.rbl_lookup', async (L) => {
    const ip = argString(L, 1);
    const base = argString(L, 2);
    const resolverName = optString(L, 3);
    const { address, txt } = await rblLookup(ip, base, resolverName, dns());
    return (Ls) => {
      if (address === null) lua.lua_pushnil(Ls);
      else pushText(Ls, address);
      if (txt === null) lua.lua_pushnil(Ls);
      else pushText(Ls, txt);
      return 2;
    };
  }));
  m.fn('ptr_host', (L) => {
    pushText(L, ptrHost(argString(L, 1)));
    return 1;
  });
  m.fn('reverse_ip', (L) => {
    pushText(L, reverseIp(argString(L, 1)));
    return 1;
  });

  const configValue = (L: LuaState, i: number): JsonValue => toJson(L, i);
  m.fn('configure_resolver', (L) => {
    dns().setDefaultResolver(buildResolver(configValue(L, 1), true));
    return 0;
  });
  m.fn('define_resolver', (L) => {
    const name = argString(L, 1);
    dns().defineResolver(name, buildResolver(configValue(L, 2), true));
    return 0;
  });
  m.fn('configure_test_resolver', (L) => {
    dns().setDefaultResolver(new TestResolver(parseTestConfig(configValue(L, 1))));
    return 0;
  });
  m.fn('configure_unbound_resolver', () => {
    throw new Error('kumo.dns.configure_unbound_resolver is not provided by kumo-lua (no libunbound); use kumo.dns.configure_resolver');
  });
  m.fn('load_resolv_conf', (L) => {
    pushJsonArrays(L, loadResolvConf(optString(L, 1)));
    return 1;
  });
  m.fn('configure_test_mta_sts', (L) => {
    const raw = configValue(L, 1);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('configure_test_mta_sts expects a table of domain = policy text');
    const policies = new Map<string, MtaStsPolicy>();
    for (const [domain, text] of Object.entries(raw)) {
      if (typeof text !== 'string') throw new Error(`configure_test_mta_sts: the policy for ${domain} must be a string`);
      policies.set(domain.toLowerCase().replace(/\.$/, ''), parseMtaStsPolicy(text, domain));
    }
    dns().setTestMtaSts(policies);
    return 0;
  });
  m.fn('set_mx_concurrency_limit', (L) => {
    const n = argInteger(L, 1);
    if (n < 1) throw new Error('set_mx_concurrency_limit: the limit must be at least 1');
    dns().mxConcurrencyLimit = n;
    return 0;
  });
  m.fn('set_mx_timeout', (L) => {
    dns().mxTimeoutMs = durationArg(L, 1, 'set_mx_timeout');
    return 0;
  });
  m.fn('set_mx_negative_cache_ttl', (L) => {
    dns().mxNegativeTtlMs = durationArg(L, 1, 'set_mx_negative_cache_ttl');
    return 0;
  });
  m.fn('set_mta_sts_enabled', (L) => {
    dns().mtaStsEnabled = argBoolean(L, 1);
    return 0;
  });
}
