/**
 * What the listeners need from the rest of kumo-lua. The listeners never
 * import the queue engine or the loggers: the composition root provides these
 * slots (`ctx.provide(MESSAGE_INTAKE, ...)`) and `kumo.start_*_listener`
 * picks them up with `ctx.require`.
 */
import { ServiceSlot } from '../kumo/context.ts';
import type { Message } from '../message/message.ts';
import type { RecordSink } from '../records/types.ts';
import type { JsonValue } from '../util/json.ts';
import type { LuaState } from '../lua/fengari.ts';
import type { ListenerMetrics } from './metrics/listener-metrics.ts';

/**
 * Spool + scheduled queue, in the two steps KumoMTA separates so that the
 * Reception record is logged between them (engine.md §8.4 step 5.6–5.8, §9.2 step 4).
 */
export interface MessageIntake {
  /** Writes the message to the spool; skipped when `deferredSpool`. Rejects ⇒ nothing was stored. */
  save(msg: Message, opts: { deferredSpool: boolean }): Promise<void>;
  /**
   * Hands a saved message to its scheduled queue (`insert_or_unwind`). On
   * failure it removes the message from the spool again and rejects; the
   * listener then logs the reception Bounce.
   */
  insert(msg: Message): Promise<void>;
}

/** Matching criteria of admin bounce/suspend rules (engine.md §8.6; same fields as the queue's QueueCriteria). */
export interface AdminCriteria {
  campaign?: string | null;
  tenant?: string | null;
  domain?: string | null;
  routingDomain?: string | null;
  queueNames?: string[];
}

export interface AdminBounceEntry {
  id: string;
  criteria: AdminCriteria;
  reason: string;
  expiresMs: number;
  bounced: Map<string, number> | Record<string, number>;
  totalBounced: number;
}

export interface AdminSuspendEntry {
  id: string;
  criteria: AdminCriteria;
  reason: string;
  expiresMs: number;
}

export interface ReadyQueueSuspendEntry {
  id: string;
  name: string;
  reason: string;
  expiresMs: number;
}

/** One state of a ready queue, e.g. `connection_limited` (engine.md §8.10). */
export interface ReadyQueueState {
  context: string;
  sinceMs: number;
}

export interface ScheduledQueueInspection {
  /** Messages parked in the time store, at most `limit` of them. */
  messages: Message[];
  numScheduled: number;
  /** The queue's QueueConfig as JSON (durations as humantime strings). */
  queueConfig: JsonValue;
  /** Current `scheduled_count` gauge value for the queue. */
  delayedMetric: number;
  lastChangedMs: number;
}

/**
 * The admin API's view of the queue engine. The HTTP layer validates the
 * requests, turns durations into expiry times and shapes KumoMTA's JSON.
 */
export interface AdminOps {
  /** Registers the rule and (unless `sweep` is false: kumo.api.admin from Lua) starts the asynchronous sweep of matching queues. */
  addBounce(rule: { criteria: AdminCriteria; reason: string; expiresMs: number; suppressLogging: boolean; sweep?: boolean }): { id: string };
  listBounces(): AdminBounceEntry[];
  deleteBounce(id: string): boolean;
  addSuspend(rule: { criteria: AdminCriteria; reason: string; expiresMs: number }): { id: string };
  listSuspends(): AdminSuspendEntry[];
  deleteSuspend(id: string): boolean;
  suspendReadyQueue(rule: { name: string; reason: string; expiresMs: number }): { id: string };
  listReadyQueueSuspensions(): ReadyQueueSuspendEntry[];
  deleteReadyQueueSuspension(id: string): boolean;
  /** Admin rebind (lua-api-more.md §8.4): resolves with the number of messages rebound. */
  rebind(req: {
    criteria: AdminCriteria; reason: string; data: Record<string, string>;
    alwaysFlush: boolean; suppressLogging: boolean; triggerRebindEvent: boolean;
  }): Promise<number>;
  /** null when the scheduled queue is not currently known. */
  inspectScheduledQueue(name: string, limit: number | null): ScheduledQueueInspection | null;
  /** Ready queue name → state name (`connection_limited`, ...) → state; only queues with a state. */
  readyQueueStates(): Map<string, Record<string, ReadyQueueState>> | Record<string, Record<string, ReadyQueueState>>;
  /** A message by spool id (loading it from the spool if need be), or null. */
  inspectMessage(id: string): Promise<Message | null>;
}

/** Counters and gauges as plain values; histograms as cumulative buckets. */
export interface MetricSeries {
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSeries {
  labels: Record<string, string>;
  /** Cumulative counts, one per upper bound in the family's `buckets` (the +Inf bucket is `count`). */
  bucketCounts: number[];
  sum: number;
  count: number;
}

export type MetricFamily =
  | { name: string; help: string; type: 'counter' | 'gauge'; series: MetricSeries[] }
  | { name: string; help: string; type: 'histogram'; buckets: number[]; series: HistogramSeries[] };

/** Anything that owns metrics: the queue engine, the log hooks. Called on every scrape. */
export interface MetricsSource {
  collect(): MetricFamily[];
}

/** Why the node should not take traffic right now (engine.md §8.3), or null when healthy. */
export interface ServerHealth {
  /** e.g. "shutting down", "waiting for spool startup"; null ⇒ OK. */
  unavailableReason(): string | null;
}

/** Pushes a Message userdata (src/message/lua-binding.ts pushMessage; injectable for tests). */
export type PushMessage = (L: LuaState, msg: Message) => void;

/** The listeners that are running, so the composition root can stop them at shutdown. */
export interface RunningListener {
  readonly kind: 'http' | 'esmtp';
  /** "ip:port" actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

export class ListenerSet {
  readonly all: RunningListener[] = [];
  add(l: RunningListener): void {
    this.all.push(l);
  }
  async closeAll(): Promise<void> {
    const list = this.all.splice(0);
    await Promise.allSettled(list.map((l) => l.close()));
  }
}

export const MESSAGE_INTAKE = new ServiceSlot<MessageIntake>('message intake (spool + queue manager)');
export const LISTENER_RECORDS = new ServiceSlot<RecordSink>('the record sink for listener records');
export const ADMIN_OPS = new ServiceSlot<AdminOps>('the admin API of the queue engine');
/** Several sources may be registered; the composition root provides the list. */
export const METRICS_SOURCES = new ServiceSlot<MetricsSource[]>('metrics sources');
export const SERVER_HEALTH = new ServiceSlot<ServerHealth>('server health');
export const LISTENER_METRICS = new ServiceSlot<ListenerMetrics>("the listeners' own metrics");
export const LISTENERS = new ServiceSlot<ListenerSet>('the listener registry');
/** Rewrites where a listener binds (the test harness binds everything to 127.0.0.1:0). */
export const LISTEN_ADDRESS_REWRITE = new ServiceSlot<(listen: ListenAddress) => ListenAddress>('the listen address rewrite');
export interface ListenAddress {
  host: string;
  port: number;
  text: string;
}
