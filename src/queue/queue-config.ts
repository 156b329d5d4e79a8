import { formatHumantime } from '../util/duration.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import { ConfigError, StrictReader } from './config-reader.ts';
import type { ThrottleSpec } from './throttle.ts';
import { parseSmtpProtocol, type SmtpProtocol } from '../delivery/smtp/mx-list.ts';

export type ShrinkPolicyKind = 'ShrinkDataAndMeta' | 'ShrinkData' | 'NoShrink';
export type RefreshStrategy = 'Ttl' | 'Epoch';
export type QueueStrategy = 'SingletonTimerWheel' | 'SingletonTimerWheelV2' | 'TimerWheel' | 'SkipList';

export interface CustomLuaProtocol {
  kind: 'custom_lua';
  constructor: string;
  batchSize: number;
  minBatchSize: number;
  maxBatchLatencyMs: number;
}

export interface MaildirProtocol {
  kind: 'maildir';
  maildirPath: string;
  dirMode: number | null;
  fileMode: number | null;
}

/** xfer is accepted and kept verbatim; kumo-lua does not deliver it. */
export interface OpaqueProtocol {
  kind: 'xfer';
  options: JsonObject;
}

export type { SmtpProtocol };

/** Built-in protocol of the special `null` queue (engine.md §1.4). */
export interface NullProtocol {
  kind: 'null';
}

export type QueueProtocol = CustomLuaProtocol | MaildirProtocol | SmtpProtocol | OpaqueProtocol | NullProtocol;

export interface ShrinkPolicyEntry {
  intervalMs: number;
  policy: ShrinkPolicyKind;
}

/** `kumo.make_queue_config` (engine.md §2.1); every duration in milliseconds. */
export interface QueueConfig {
  retryIntervalMs: number;
  maxRetryIntervalMs: number | null;
  maxAgeMs: number;
  egressPool: string | null;
  maxMessageRate: ThrottleSpec | null;
  protocol: QueueProtocol;
  reapIntervalMs: number;
  refreshIntervalMs: number;
  refreshStrategy: RefreshStrategy;
  timerwheelTickIntervalMs: number | null;
  strategy: QueueStrategy;
  providerName: string | null;
  shrinkPolicy: ShrinkPolicyEntry[];
}

export const QUEUE_CONFIG_KEYS = [
  'retry_interval', 'max_retry_interval', 'max_age', 'egress_pool', 'max_message_rate', 'protocol',
  'reap_interval', 'refresh_interval', 'refresh_strategy', 'timerwheel_tick_interval', 'strategy',
  'provider_name', 'shrink_policy',
] as const;

const SHRINK_POLICIES: readonly ShrinkPolicyKind[] = ['ShrinkDataAndMeta', 'ShrinkData', 'NoShrink'];
const STRATEGIES: readonly QueueStrategy[] = ['SingletonTimerWheel', 'SingletonTimerWheelV2', 'TimerWheel', 'SkipList'];

export function defaultQueueConfig(): QueueConfig {
  return {
    retryIntervalMs: 20 * 60_000,
    maxRetryIntervalMs: null,
    maxAgeMs: 7 * 86_400_000,
    egressPool: null,
    maxMessageRate: null,
    protocol: parseSmtpProtocol({}),
    reapIntervalMs: 10 * 60_000,
    refreshIntervalMs: 60_000,
    refreshStrategy: 'Ttl',
    timerwheelTickIntervalMs: null,
    strategy: 'SingletonTimerWheel',
    providerName: null,
    shrinkPolicy: [],
  };
}

/** Built-in config of the `null` queue: retry 10 s, cap 10 s. */
export function nullQueueConfig(): QueueConfig {
  return { ...defaultQueueConfig(), retryIntervalMs: 10_000, maxRetryIntervalMs: 10_000, protocol: { kind: 'null' } };
}

function parseProtocol(obj: JsonObject): QueueProtocol {
  if (Object.hasOwn(obj, 'custom_lua')) {
    const inner = new StrictReader(obj, ['custom_lua'], 'protocol.').object('custom_lua') ?? {};
    const r = new StrictReader(inner, ['constructor', 'batch_size', 'min_batch_size', 'max_batch_latency'], 'protocol.custom_lua.');
    return {
      kind: 'custom_lua',
      constructor: r.requiredString('constructor'),
      batchSize: r.integer('batch_size', 1) ?? 1,
      minBatchSize: r.integer('min_batch_size', 1) ?? 1,
      maxBatchLatencyMs: r.durationMs('max_batch_latency') ?? 0,
    };
  }
  if (Object.hasOwn(obj, 'maildir_path')) {
    const r = new StrictReader(obj, ['maildir_path', 'dir_mode', 'file_mode'], 'protocol.');
    return { kind: 'maildir', maildirPath: r.requiredString('maildir_path'), dirMode: r.integer('dir_mode') ?? null, fileMode: r.integer('file_mode') ?? null };
  }
  if (Object.hasOwn(obj, 'smtp')) {
    const r = new StrictReader(obj, ['smtp'], 'protocol.');
    try {
      return parseSmtpProtocol(r.object('smtp') ?? {});
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('protocol.smtp', (err as Error).message);
    }
  }
  if (Object.hasOwn(obj, 'xfer')) {
    const r = new StrictReader(obj, ['xfer'], 'protocol.');
    return { kind: 'xfer', options: r.object('xfer') ?? {} };
  }
  throw new ConfigError('protocol', 'protocol: data did not match any variant of untagged enum DeliveryProto (expected custom_lua, maildir_path, smtp or xfer)');
}

function parseShrinkPolicy(items: JsonValue[]): ShrinkPolicyEntry[] {
  return items.map((item, i) => {
    if (!isJsonObject(item)) throw new ConfigError(`shrink_policy[${i + 1}]`, `shrink_policy[${i + 1}]: expected a table with interval and policy`);
    const r = new StrictReader(item, ['interval', 'policy'], `shrink_policy[${i + 1}].`);
    const intervalMs = r.durationMs('interval');
    const policy = r.oneOf('policy', SHRINK_POLICIES);
    if (intervalMs === undefined) throw new ConfigError(r.name('interval'), `missing field \`${r.name('interval')}\``);
    if (policy === undefined) throw new ConfigError(r.name('policy'), `missing field \`${r.name('policy')}\``);
    return { intervalMs, policy };
  });
}

/** Validates a `kumo.make_queue_config` table; unknown keys and bad values throw ConfigError. */
export function parseQueueConfig(obj: JsonObject): QueueConfig {
  const r = new StrictReader(obj, QUEUE_CONFIG_KEYS);
  const d = defaultQueueConfig();
  const protocolObj = r.object('protocol');
  const shrink = r.array('shrink_policy');
  return {
    retryIntervalMs: r.durationMs('retry_interval') ?? d.retryIntervalMs,
    maxRetryIntervalMs: r.durationMs('max_retry_interval') ?? null,
    maxAgeMs: r.durationMs('max_age') ?? d.maxAgeMs,
    egressPool: r.string('egress_pool') ?? null,
    maxMessageRate: r.throttle('max_message_rate'),
    protocol: protocolObj ? parseProtocol(protocolObj) : d.protocol,
    reapIntervalMs: r.durationMs('reap_interval') ?? d.reapIntervalMs,
    refreshIntervalMs: r.durationMs('refresh_interval') ?? d.refreshIntervalMs,
    refreshStrategy: r.oneOf('refresh_strategy', ['Ttl', 'Epoch'] as const) ?? d.refreshStrategy,
    timerwheelTickIntervalMs: r.durationMs('timerwheel_tick_interval') ?? null,
    strategy: r.oneOf('strategy', STRATEGIES) ?? d.strategy,
    providerName: r.string('provider_name') ?? null,
    shrinkPolicy: shrink ? parseShrinkPolicy(shrink) : [],
  };
}

/**
 * The shrink policy for a message parked for `untilDueMs`: the last entry
 * whose interval is at most that long; none ⇒ release data and meta.
 */
export function shrinkPolicyFor(config: QueueConfig, untilDueMs: number): ShrinkPolicyKind {
  let chosen: ShrinkPolicyKind = 'ShrinkDataAndMeta';
  for (const entry of config.shrinkPolicy) if (entry.intervalMs <= untilDueMs) chosen = entry.policy;
  return chosen;
}

function protocolToJson(p: QueueProtocol): JsonObject {
  switch (p.kind) {
    case 'custom_lua':
      return { custom_lua: { constructor: p.constructor, batch_size: p.batchSize, min_batch_size: p.minBatchSize, max_batch_latency: formatHumantime(p.maxBatchLatencyMs) } };
    case 'maildir':
      return { maildir_path: p.maildirPath, dir_mode: p.dirMode, file_mode: p.fileMode };
    case 'null':
      return { Null: null };
    default:
      return { [p.kind]: p.options };
  }
}

/** The config as KumoMTA serialises it (durations as humantime strings), for inspection APIs. */
export function queueConfigToJson(c: QueueConfig): JsonObject {
  return {
    retry_interval: formatHumantime(c.retryIntervalMs),
    max_retry_interval: c.maxRetryIntervalMs === null ? null : formatHumantime(c.maxRetryIntervalMs),
    max_age: formatHumantime(c.maxAgeMs),
    egress_pool: c.egressPool,
    max_message_rate: c.maxMessageRate?.text ?? null,
    protocol: protocolToJson(c.protocol),
    reap_interval: formatHumantime(c.reapIntervalMs),
    refresh_interval: formatHumantime(c.refreshIntervalMs),
    refresh_strategy: c.refreshStrategy,
    timerwheel_tick_interval: c.timerwheelTickIntervalMs === null ? null : formatHumantime(c.timerwheelTickIntervalMs),
    strategy: c.strategy,
    provider_name: c.providerName,
    shrink_policy: c.shrinkPolicy.map((e) => ({ interval: formatHumantime(e.intervalMs), policy: e.policy })),
  };
}
