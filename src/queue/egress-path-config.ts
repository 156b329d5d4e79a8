import type { JsonObject } from '../util/json.ts';
import { isJsonObject } from '../util/json.ts';
import { ConfigError, StrictReader } from './config-reader.ts';
import { parseThrottleSpec, type ThrottleSpec } from './throttle.ts';
import { parseSmtpPathOptions, SMTP_PATH_KEYS, type SmtpPathOptions } from '../delivery/smtp/path-options.ts';
import type { RefreshStrategy, ShrinkPolicyKind } from './queue-config.ts';

export interface ConnectionLimit {
  limit: number;
  local: boolean;
}

export type WakeupStrategy = 'Aggressive' | 'Relaxed';

/** The SMTP client timeouts; for custom_lua only idle_timeout and the sums matter. */
export interface ClientTimeouts {
  connectTimeoutMs: number;
  bannerTimeoutMs: number;
  ehloTimeoutMs: number;
  authTimeoutMs: number;
  mailFromTimeoutMs: number;
  rcptToTimeoutMs: number;
  dataTimeoutMs: number;
  dataDotTimeoutMs: number;
  rsetTimeoutMs: number;
  starttlsTimeoutMs: number;
  idleTimeoutMs: number;
}

/** `kumo.make_egress_path` (engine.md §7); durations in milliseconds. */
export interface EgressPathConfig {
  connectionLimit: ConnectionLimit;
  additionalConnectionLimits: Record<string, ConnectionLimit>;
  maxDeliveriesPerConnection: number;
  /**
   * Messages a ready queue holds before the rest wait in the scheduled queue.
   * kumo-lua's default is 16384, not KumoMTA's 1024: a burst of log records
   * larger than max_ready is pushed back by a random 0-60 s, so a 10,000-record
   * burst to a healthy webhook took a minute instead of seconds.
   */
  maxReady: number;
  maxMessageRate: ThrottleSpec | null;
  additionalMessageRateThrottles: Record<string, ThrottleSpec>;
  maxConnectionRate: ThrottleSpec | null;
  sourceSelectionRate: ThrottleSpec | null;
  additionalSourceSelectionRates: Record<string, ThrottleSpec>;
  consecutiveConnectionFailuresBeforeDelay: number;
  systemShutdownTimeoutMs: number | null;
  dispatcherProgressWatchdogTimeoutMs: number | null;
  refreshIntervalMs: number;
  refreshStrategy: RefreshStrategy;
  dispatcherWakeupStrategy: WakeupStrategy;
  maintainerWakeupStrategy: WakeupStrategy;
  providerName: string | null;
  lowMemoryReductionPolicy: ShrinkPolicyKind;
  noMemoryReductionPolicy: ShrinkPolicyKind;
  readyqPoolName: string | null;
  aggressiveConnectionOpening: boolean;
  timeouts: ClientTimeouts;
  /** SMTP-only options as given (inspection), and typed for the SMTP client; custom_lua ignores them. */
  smtpOptions: JsonObject;
  smtp: SmtpPathOptions;
}

const TIMEOUT_KEYS: Record<string, [keyof ClientTimeouts, number]> = {
  connect_timeout: ['connectTimeoutMs', 60_000],
  banner_timeout: ['bannerTimeoutMs', 60_000],
  ehlo_timeout: ['ehloTimeoutMs', 300_000],
  auth_timeout: ['authTimeoutMs', 60_000],
  mail_from_timeout: ['mailFromTimeoutMs', 300_000],
  rcpt_to_timeout: ['rcptToTimeoutMs', 300_000],
  data_timeout: ['dataTimeoutMs', 300_000],
  data_dot_timeout: ['dataDotTimeoutMs', 300_000],
  rset_timeout: ['rsetTimeoutMs', 5_000],
  starttls_timeout: ['starttlsTimeoutMs', 5_000],
  idle_timeout: ['idleTimeoutMs', 5_000],
};

const LUA_KEYS = [
  'connection_limit', 'additional_connection_limits', 'max_deliveries_per_connection', 'max_ready', 'max_message_rate',
  'additional_message_rate_throttles', 'max_connection_rate', 'source_selection_rate', 'additional_source_selection_rates',
  'consecutive_connection_failures_before_delay', 'system_shutdown_timeout', 'dispatcher_progress_watchdog_timeout',
  'refresh_interval', 'refresh_strategy', 'dispatcher_wakeup_strategy', 'maintainer_wakeup_strategy', 'provider_name',
  'low_memory_reduction_policy', 'no_memory_reduction_policy', 'readyq_pool_name', 'aggressive_connection_opening',
];

export const EGRESS_PATH_KEYS: readonly string[] = [...LUA_KEYS, ...Object.keys(TIMEOUT_KEYS), ...SMTP_PATH_KEYS];

const SHRINK: readonly ShrinkPolicyKind[] = ['ShrinkDataAndMeta', 'ShrinkData', 'NoShrink'];
const WAKEUP: readonly WakeupStrategy[] = ['Aggressive', 'Relaxed'];

export const DEFAULT_MAX_READY = 16384;

export function defaultEgressPathConfig(): EgressPathConfig {
  return parseEgressPathConfig({});
}

/** Integer or `"[local:]N"` with `_`/`,` separators, N ≥ 1. */
function parseLimit(value: unknown, field: string): ConnectionLimit {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return { limit: value, local: false };
  if (typeof value === 'string') {
    const local = value.startsWith('local:');
    const digits = (local ? value.slice(6) : value).replace(/[_,]/g, '');
    if (/^\d+$/.test(digits) && Number(digits) >= 1) return { limit: Number(digits), local };
  }
  throw new ConfigError(field, `invalid value for \`${field}\`: ${JSON.stringify(value)}, expected an integer >= 1 or "[local:]N"`);
}

function throttleMap(r: StrictReader, key: string): Record<string, ThrottleSpec> {
  const obj = r.object(key) ?? {};
  const out: Record<string, ThrottleSpec> = {};
  for (const [name, spec] of Object.entries(obj)) {
    if (typeof spec !== 'string') throw new ConfigError(`${key}.${name}`, `invalid type for \`${key}.${name}\`: expected a throttle spec string`);
    try {
      out[name] = parseThrottleSpec(spec);
    } catch (err) {
      throw new ConfigError(`${key}.${name}`, `\`${key}.${name}\`: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Validates a `kumo.make_egress_path` table; unknown keys and bad values throw ConfigError. */
export function parseEgressPathConfig(obj: JsonObject): EgressPathConfig {
  const r = new StrictReader(obj, EGRESS_PATH_KEYS);
  const timeouts = {} as ClientTimeouts;
  for (const [key, [field, dflt]] of Object.entries(TIMEOUT_KEYS)) timeouts[field] = r.durationMs(key) ?? dflt;
  const extraLimits: Record<string, ConnectionLimit> = {};
  for (const [name, v] of Object.entries(r.object('additional_connection_limits') ?? {})) {
    extraLimits[name] = parseLimit(v, `additional_connection_limits.${name}`);
  }
  const smtpOptions: JsonObject = {};
  for (const key of SMTP_PATH_KEYS) if (obj[key] !== undefined) smtpOptions[key] = obj[key]!;
  const limitRaw = r.raw('connection_limit');
  if (limitRaw !== undefined && isJsonObject(limitRaw)) throw new ConfigError('connection_limit', 'invalid type for `connection_limit`: map, expected an integer or string');
  return {
    connectionLimit: limitRaw === undefined ? { limit: 32, local: false } : parseLimit(limitRaw, 'connection_limit'),
    additionalConnectionLimits: extraLimits,
    maxDeliveriesPerConnection: r.integer('max_deliveries_per_connection', 1) ?? 1024,
    maxReady: r.integer('max_ready', 1) ?? DEFAULT_MAX_READY,
    maxMessageRate: r.throttle('max_message_rate'),
    additionalMessageRateThrottles: throttleMap(r, 'additional_message_rate_throttles'),
    maxConnectionRate: r.throttle('max_connection_rate'),
    sourceSelectionRate: r.throttle('source_selection_rate'),
    additionalSourceSelectionRates: throttleMap(r, 'additional_source_selection_rates'),
    consecutiveConnectionFailuresBeforeDelay: r.integer('consecutive_connection_failures_before_delay') ?? 100,
    systemShutdownTimeoutMs: r.durationMs('system_shutdown_timeout') ?? null,
    dispatcherProgressWatchdogTimeoutMs: r.durationMs('dispatcher_progress_watchdog_timeout') ?? null,
    refreshIntervalMs: r.durationMs('refresh_interval') ?? 60_000,
    refreshStrategy: r.oneOf('refresh_strategy', ['Ttl', 'Epoch'] as const) ?? 'Ttl',
    dispatcherWakeupStrategy: r.oneOf('dispatcher_wakeup_strategy', WAKEUP) ?? 'Aggressive',
    maintainerWakeupStrategy: r.oneOf('maintainer_wakeup_strategy', WAKEUP) ?? 'Aggressive',
    providerName: r.string('provider_name') ?? null,
    lowMemoryReductionPolicy: r.oneOf('low_memory_reduction_policy', SHRINK) ?? 'ShrinkDataAndMeta',
    noMemoryReductionPolicy: r.oneOf('no_memory_reduction_policy', SHRINK) ?? 'ShrinkDataAndMeta',
    readyqPoolName: r.string('readyq_pool_name') ?? null,
    aggressiveConnectionOpening: r.bool('aggressive_connection_opening') ?? false,
    timeouts,
    smtpOptions,
    smtp: parseSmtpPathOptions(obj),
  };
}

/** After shutdown starts, dispatchers alive this long are aborted (default 4 × 300 s). */
export function shutdownTimeoutMs(c: EgressPathConfig): number {
  if (c.systemShutdownTimeoutMs !== null) return c.systemShutdownTimeoutMs;
  const t = c.timeouts;
  return t.mailFromTimeoutMs + t.rcptToTimeoutMs + t.dataTimeoutMs + t.dataDotTimeoutMs;
}

/** Progress watchdog; 600 s for custom_lua when unset. */
export function watchdogTimeoutMs(c: EgressPathConfig): number {
  return c.dispatcherProgressWatchdogTimeoutMs ?? 600_000;
}
