/**
 * Harness functions that ask what the policy decides rather than running
 * mail through: `t.route`, `t.listener_domain`, `t.dkim_check`.
 */
import { asyncFunction } from '../lua/host-function.ts';
import { isNoneOrNil } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { toBytes } from '../lua/strings.ts';
import { lua } from '../lua/fengari.ts';
import { isJsonObject, type JsonValue } from '../util/json.ts';
import type { ModuleTable } from '../kumo/module-table.ts';
import type { HostState } from './host-module.ts';
import { routeMessage } from './route.ts';
import { listenerDecision } from './listener-decision.ts';
import { checkDkim } from './dkim-check.ts';

export function registerDecisionFunctions(host: ModuleTable, env: HostState): void {
  host.fn(
    'route',
    asyncFunction('t.route', async (L) => {
      const spec = isNoneOrNil(L, 1) ? undefined : toJson(L, 1);
      const result = await routeMessage(env.ctx, env.clock, spec);
      return (Lr) => (pushJson(Lr, result), 1);
    }),
  );
  host.fn(
    'listener_domain',
    asyncFunction('t.listener_domain', async (L) => {
      const spec = isNoneOrNil(L, 1) ? undefined : toJson(L, 1);
      const result = await listenerDecision(env.ctx, spec);
      return (Lr) => (pushJson(Lr, result), 1);
    }),
  );
  host.fn(
    'dkim_check',
    asyncFunction('t.dkim_check', async (L) => {
      // A message text, or a t.route result (its `data`).
      let text: Uint8Array | string;
      if (lua.lua_type(L, 1) === lua.LUA_TSTRING) text = Uint8Array.from(toBytes(L, 1));
      else {
        const route = toJson(L, 1);
        if (!isJsonObject(route) || typeof route.data !== 'string') throw new Error('t.dkim_check expects a message text or a t.route result');
        text = route.data;
      }
      const keys = isNoneOrNil(L, 2) ? {} : toJson(L, 2);
      if (!isJsonObject(keys) || !Object.values(keys).every((v) => typeof v === 'string')) {
        throw new Error("t.dkim_check: keys must map '<selector>._domainkey.<domain>' to a DKIM TXT record or a private key file");
      }
      const results = await checkDkim(text, keys as Record<string, string>);
      return (Lr) => (pushJson(Lr, results as unknown as JsonValue), 1);
    }),
  );
}
