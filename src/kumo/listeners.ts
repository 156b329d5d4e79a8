/**
 * kumo.start_http_listener / kumo.start_esmtp_listener (engine.md §8, §9).
 * Options are checked even while validating; nothing binds then. The
 * listeners reach the engine only through the slots in src/server/ports.ts.
 */
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { checkTable } from '../lua/args.ts';
import { toJson } from '../lua/marshal.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { LOGGING_SLOT } from '../logging/index.ts';
import type { RecordSink } from '../records/types.ts';
import {
  ADMIN_OPS, LISTEN_ADDRESS_REWRITE, LISTENER_METRICS, LISTENER_RECORDS, LISTENERS, ListenerSet, MESSAGE_INTAKE, METRICS_SOURCES, SERVER_HEALTH,
} from '../server/ports.ts';
import { ListenerMetrics } from '../server/metrics/listener-metrics.ts';
import { ListenerPolicy } from '../server/policy-events.ts';
import { HttpListener, parseHttpListenerConfig } from '../server/http/listener.ts';
import { EsmtpListener } from '../server/smtp/listener.ts';
import { parseEsmtpListenerConfig } from '../server/smtp/config.ts';
import { registerListenerDomain } from './listener-domain.ts';
import { aclLookupFor } from './acl.ts';

/** Per-context shared pieces, created on first use (the composition root may provide them instead). */
function shared(ctx: KumoContext): { metrics: ListenerMetrics; set: ListenerSet } {
  let metrics = ctx.optional(LISTENER_METRICS);
  if (!metrics) ctx.provide(LISTENER_METRICS, (metrics = new ListenerMetrics()));
  let set = ctx.optional(LISTENERS);
  if (!set) ctx.provide(LISTENERS, (set = new ListenerSet()));
  return { metrics, set };
}

/** The listeners' record sink: LISTENER_RECORDS if provided, else the process's Logging. */
function recordSink(ctx: KumoContext): RecordSink | undefined {
  return ctx.optional(LISTENER_RECORDS) ?? ctx.optional(LOGGING_SLOT);
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  registerListenerDomain(kumo);
  kumo.fn(
    'start_http_listener',
    asyncFunction('kumo.start_http_listener', async (L) => {
      checkTable(L, 1);
      const config = parseHttpListenerConfig(toJson(L, 1));
      if (ctx.mode.validating) return;
      config.listen = ctx.optional(LISTEN_ADDRESS_REWRITE)?.(config.listen) ?? config.listen;
      const { metrics, set } = shared(ctx);
      const listener = await HttpListener.start(config, {
        events: ctx.events,
        clock: ctx.clock,
        log: ctx.log,
        policy: new ListenerPolicy(ctx.events, pushMessage),
        listenerMetrics: metrics,
        intake: ctx.optional(MESSAGE_INTAKE),
        records: recordSink(ctx),
        admin: ctx.optional(ADMIN_OPS),
        metricsSources: ctx.optional(METRICS_SOURCES),
        health: ctx.optional(SERVER_HEALTH),
        aclLookup: aclLookupFor(ctx),
      });
      set.add(listener);
    }),
  );

  kumo.fn(
    'start_esmtp_listener',
    asyncFunction('kumo.start_esmtp_listener', async (L) => {
      checkTable(L, 1);
      const config = parseEsmtpListenerConfig(toJson(L, 1));
      if (ctx.mode.validating) return;
      config.listen = ctx.optional(LISTEN_ADDRESS_REWRITE)?.(config.listen) ?? config.listen;
      const intake = ctx.require(MESSAGE_INTAKE, 'kumo.start_esmtp_listener');
      const records = recordSink(ctx) ?? ctx.require(LISTENER_RECORDS, 'kumo.start_esmtp_listener');
      const { metrics, set } = shared(ctx);
      const listener = await EsmtpListener.start(config, {
        intake,
        records,
        policy: new ListenerPolicy(ctx.events, pushMessage),
        listenerMetrics: metrics,
        clock: ctx.clock,
        log: ctx.log,
        health: ctx.optional(SERVER_HEALTH),
      });
      set.add(listener);
    }),
  );
}
