/**
 * kumo.prometheus_metrics() (lua-api-more.md §3.13 table): a debug aid that
 * returns, as a Lua table, the same metrics the HTTP listener serves at
 * `/metrics` and `/metrics.json` — the listeners' own metrics plus every
 * registered source (queue engine, log hooks, delivery latency). The shape is
 * the `/metrics.json` one: `{ <name> = { help, type, value } }`.
 * Async, as in KumoMTA.
 */
import type { LuaState } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson } from '../lua/marshal.ts';
import { renderJson } from '../server/metrics/render.ts';
import { LISTENER_METRICS, METRICS_SOURCES, type MetricFamily } from '../server/ports.ts';
import type { JsonValue } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

export function collectFamilies(ctx: KumoContext): MetricFamily[] {
  const sources = [ctx.optional(LISTENER_METRICS), ...(ctx.optional(METRICS_SOURCES) ?? [])];
  return sources.flatMap((s) => (s ? s.collect() : []));
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn(
    'prometheus_metrics',
    asyncFunction('kumo.prometheus_metrics', async () => {
      // Collected after a turn of the event loop, like a scrape would be.
      await Promise.resolve();
      const table = renderJson(collectFamilies(ctx));
      return (L: LuaState) => {
        pushJson(L, table as JsonValue);
        return 1;
      };
    }),
  );
}
