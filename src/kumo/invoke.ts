/**
 * kumo.invoke_get_queue_config and kumo.invoke_get_egress_path_config
 * (lua-api-more.md §3.10): fire the config events from Lua and return the
 * serialised config (unset options are the null sentinel). The egress
 * source/pool variants live with the egress binding (egress.ts).
 */
import { lua } from '../lua/fengari.ts';
import { argString } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import { parseQueueName } from '../message/queue-name.ts';
import { defaultEgressPathConfig, type ConnectionLimit, type EgressPathConfig } from '../queue/egress-path-config.ts';
import { queueConfigToJson } from '../queue/queue-config.ts';
import type { ThrottleSpec } from '../queue/throttle.ts';
import { formatHumantime } from '../util/duration.ts';
import type { JsonObject, JsonValue } from '../util/json.ts';
import { queueConfigResolver } from '../daemon/policy-bridge.ts';
import { egressPathFromLua } from './config.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

const limitJson = (l: ConnectionLimit): JsonValue => (l.local ? `local:${l.limit}` : l.limit);
const throttleJson = (t: ThrottleSpec | null): JsonValue => t?.text ?? null;
const mapOf = <T>(m: Record<string, T>, f: (v: T) => JsonValue): JsonObject => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, f(v)]));
const durationOrNull = (ms: number | null): JsonValue => (ms === null ? null : formatHumantime(ms));

/** The path config as KumoMTA serialises it (durations as humantime strings). */
export function egressPathConfigToJson(c: EgressPathConfig): JsonObject {
  const t = c.timeouts;
  return {
    connection_limit: limitJson(c.connectionLimit),
    additional_connection_limits: mapOf(c.additionalConnectionLimits, limitJson),
    max_deliveries_per_connection: c.maxDeliveriesPerConnection,
    max_ready: c.maxReady,
    max_message_rate: throttleJson(c.maxMessageRate),
    additional_message_rate_throttles: mapOf(c.additionalMessageRateThrottles, (v) => v.text),
    max_connection_rate: throttleJson(c.maxConnectionRate),
    source_selection_rate: throttleJson(c.sourceSelectionRate),
    additional_source_selection_rates: mapOf(c.additionalSourceSelectionRates, (v) => v.text),
    consecutive_connection_failures_before_delay: c.consecutiveConnectionFailuresBeforeDelay,
    system_shutdown_timeout: durationOrNull(c.systemShutdownTimeoutMs),
    dispatcher_progress_watchdog_timeout: durationOrNull(c.dispatcherProgressWatchdogTimeoutMs),
    refresh_interval: formatHumantime(c.refreshIntervalMs),
    refresh_strategy: c.refreshStrategy,
    dispatcher_wakeup_strategy: c.dispatcherWakeupStrategy,
    maintainer_wakeup_strategy: c.maintainerWakeupStrategy,
    provider_name: c.providerName,
    low_memory_reduction_policy: c.lowMemoryReductionPolicy,
    no_memory_reduction_policy: c.noMemoryReductionPolicy,
    readyq_pool_name: c.readyqPoolName,
    aggressive_connection_opening: c.aggressiveConnectionOpening,
    connect_timeout: formatHumantime(t.connectTimeoutMs),
    banner_timeout: formatHumantime(t.bannerTimeoutMs),
    ehlo_timeout: formatHumantime(t.ehloTimeoutMs),
    auth_timeout: formatHumantime(t.authTimeoutMs),
    mail_from_timeout: formatHumantime(t.mailFromTimeoutMs),
    rcpt_to_timeout: formatHumantime(t.rcptToTimeoutMs),
    data_timeout: formatHumantime(t.dataTimeoutMs),
    data_dot_timeout: formatHumantime(t.dataDotTimeoutMs),
    rset_timeout: formatHumantime(t.rsetTimeoutMs),
    starttls_timeout: formatHumantime(t.starttlsTimeoutMs),
    idle_timeout: formatHumantime(t.idleTimeoutMs),
    // SMTP options the policy set, verbatim; openssl_options / rustls_cipher_suites do not round-trip in KumoMTA either.
    ...Object.fromEntries(Object.entries(c.smtpOptions).filter(([k]) => k !== 'openssl_options' && k !== 'rustls_cipher_suites')),
  };
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const resolveQueueConfig = queueConfigResolver(ctx);
  kumo.fn(
    'invoke_get_queue_config',
    asyncFunction('kumo.invoke_get_queue_config', async (L) => {
      const c = parseQueueName(argString(L, 1));
      const config = await resolveQueueConfig(c.domain, c.tenant, c.campaign, c.routingDomain);
      return (Lr) => (pushJson(Lr, queueConfigToJson(config), { nullSentinel: true }), 1);
    }),
  );
  kumo.fn(
    'invoke_get_egress_path_config',
    asyncFunction('kumo.invoke_get_egress_path_config', async (L) => {
      const args = [argString(L, 1), argString(L, 2), argString(L, 3)];
      const r = await ctx.events.dispatch(
        'get_egress_path_config',
        (co) => {
          for (const a of args) pushText(co, a);
          return 3;
        },
        // No return value (or nil) means the defaults, as in KumoMTA.
        (co, n) => (n === 0 || lua.lua_isnil(co, 1) ? null : egressPathFromLua(co, 1)),
      );
      const config = (r.handled ? r.value : null) ?? defaultEgressPathConfig();
      return (Lr) => (pushJson(Lr, egressPathConfigToJson(config), { nullSentinel: true }), 1);
    }),
  );
}
