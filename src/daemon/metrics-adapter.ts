/**
 * Prometheus families for the queue engine and the loggers (engine.md §10),
 * read on every scrape from the engine's counters and live state, plus the
 * series a webhook-pipeline operator watches: per-hook outcomes, the age of
 * the oldest waiting message, and end-to-end delivery latency.
 */
import type { Logging } from '../logging/index.ts';
import { createdMsFromSpoolId } from '../message/spool-id.ts';
import type { LabeledCounter } from '../queue/metrics.ts';
import type { QueueManager } from '../queue/manager.ts';
import type { RecordEvent, RecordSink } from '../records/types.ts';
import { familyFromEntries, HistogramFamily, SeriesFamily } from '../server/metrics/families.ts';
import type { MetricFamily, MetricSeries, MetricsSource } from '../server/ports.ts';
import type { Clock } from '../util/clock.ts';

/** Scheduled queues of log-hook messages are named `<hook>.log_hook`. */
export const LOG_HOOK_QUEUE_SUFFIX = '.log_hook';

type Kind = 'counter' | 'gauge';

function family(name: string, help: string, type: Kind, series: MetricSeries[]): MetricFamily {
  return { name, help, type, series };
}

function single(name: string, help: string, type: Kind, value: number): MetricFamily {
  return family(name, help, type, [{ labels: {}, value }]);
}

function byLabel(name: string, help: string, type: Kind, label: string, counter: LabeledCounter): MetricFamily {
  return familyFromEntries(name, help, type, label, counter.entries());
}

/** `<hook>` for a `<hook>.log_hook` scheduled queue (or ready-queue site), else null. */
export function hookOfQueueName(queue: string | null): string | null {
  if (queue === null || !queue.endsWith(LOG_HOOK_QUEUE_SUFFIX)) return null;
  const hook = queue.slice(0, -LOG_HOOK_QUEUE_SUFFIX.length);
  return hook.length > 0 ? hook : null;
}

/** Ready-queue site from a `lua:<source>-><site>@lua:<constructor>` service label; null for roll-ups. */
export function siteOfService(service: string): string | null {
  const arrow = service.indexOf('->');
  const at = service.lastIndexOf('@lua:');
  if (arrow < 0 || at < arrow) return null;
  return service.slice(arrow + 2, at);
}

/** What the age scan needs of a parked entry: its spool id and, when kept in memory, the Message. */
export interface AgedEntry {
  readonly id: string;
  readonly msg: { readonly createdMs: number } | null;
}

/**
 * Creation time (ms) of the oldest entry, or null when there is none. In-memory
 * messages carry it; for released ones it is read from the UUID v1 spool id,
 * comparing (time_hi+time_mid, time_low) as integers so only the winner is
 * fully decoded. ~130 ms per million released entries.
 */
export function oldestCreatedMs(entries: Iterable<AgedEntry>): number | null {
  let memoryMin = Infinity;
  let hiMin = Infinity;
  let loMin = Infinity;
  let idMin: string | null = null;
  for (const e of entries) {
    if (e.msg) {
      if (e.msg.createdMs < memoryMin) memoryMin = e.msg.createdMs;
      continue;
    }
    const id = e.id;
    if (id.length !== 32) continue;
    const hi = parseInt(id.slice(13, 16) + id.slice(8, 12), 16);
    if (!(hi <= hiMin)) continue; // also skips NaN from a malformed id
    const lo = parseInt(id.slice(0, 8), 16);
    if (Number.isNaN(lo) || (hi === hiMin && lo >= loMin)) continue;
    hiMin = hi;
    loMin = lo;
    idMin = id;
  }
  let fromIds = Infinity;
  if (idMin !== null) {
    try {
      fromIds = createdMsFromSpoolId(idMin);
    } catch {
      fromIds = Infinity;
    }
  }
  const best = Math.min(memoryMin, fromIds);
  return best === Infinity ? null : best;
}

class EngineMetricsSource implements MetricsSource {
  constructor(
    private readonly m: QueueManager,
    private readonly logging: Logging | null,
    private readonly clock: Clock,
  ) {}

  collect(): MetricFamily[] {
    return [...this.countersFamilies(), ...this.queueFamilies(), ...this.loggingFamilies(), ...this.hookOutcomeFamilies()];
  }

  /** What the engine counts as events happen (EngineMetrics). */
  private countersFamilies(): MetricFamily[] {
    const e = this.m.metrics;
    return [
      byLabel('total_messages_delivered', 'total number of messages ever delivered', 'counter', 'service', e.totalMessagesDelivered),
      byLabel('total_messages_transfail', 'total number of message delivery attempts that transiently failed', 'counter', 'service', e.totalMessagesTransfail),
      byLabel('total_messages_fail', 'total number of message delivery attempts that permanently failed', 'counter', 'service', e.totalMessagesFail),
      byLabel('total_messages_delivered_by_provider', 'total number of messages ever delivered, by provider', 'counter', 'provider', e.deliveredByProvider),
      byLabel('total_messages_transfail_by_provider', 'total number of transient delivery failures, by provider', 'counter', 'provider', e.transfailByProvider),
      byLabel('total_messages_fail_by_provider', 'total number of permanent delivery failures, by provider', 'counter', 'provider', e.failByProvider),
      byLabel('total_messages_delivered_by_queue', 'messages delivered, by scheduled queue (kumo-lua)', 'counter', 'queue', e.deliveredByQueue),
      byLabel('total_messages_fail_by_queue', 'messages that failed permanently (Bounce, Expiration, AdminBounce), by scheduled queue (kumo-lua)', 'counter', 'queue', e.failedByQueue),
      byLabel('connection_count', 'number of active connections', 'gauge', 'service', e.connectionCount),
      byLabel('total_connection_count', 'total number of connections ever made', 'counter', 'service', e.totalConnectionCount),
      byLabel('ready_full', 'number of times a message could not fit in the ready queue', 'counter', 'service', e.readyFull),
      byLabel('dispatcher_watchdog_aborted_total', 'number of dispatchers aborted by the progress watchdog', 'counter', 'service', e.dispatcherWatchdogAborted),
      byLabel('delayed_due_to_ready_queue_full', 'number of times a message was delayed because the ready queue was full', 'counter', 'queue', e.delayedDueToReadyQueueFull),
      byLabel('delayed_due_to_message_rate_throttle', 'number of times a message was delayed by max_message_rate', 'counter', 'queue', e.delayedDueToMessageRateThrottle),
      byLabel('delayed_due_to_throttle_insert_ready', 'number of times a message was delayed by throttle_insert_ready_queue', 'counter', 'queue', e.delayedDueToThrottleInsertReady),
      single('total_readyq_runs', 'total number of times a ready queue maintainer ran', 'counter', e.totalReadyqRuns),
      e.deliverLatency.snapshot(),
    ];
  }

  /** Live queue state: what is waiting where, and for how long. */
  private queueFamilies(): MetricFamily[] {
    const now = this.clock.now();
    const scheduled: MetricSeries[] = [];
    const oldest: MetricSeries[] = [];
    const byDomain = new SeriesFamily('scheduled_by_domain', 'number of messages in scheduled queues, by domain', 'gauge');
    const byTenant = new SeriesFamily('scheduled_by_tenant', 'number of messages in scheduled queues, by tenant', 'gauge');
    const byTenantCampaign = new SeriesFamily('scheduled_by_tenant_campaign', 'number of messages in scheduled queues, by tenant and campaign', 'gauge');
    let total = 0;
    for (const q of this.m.scheduled.queues()) {
      const n = q.scheduledCount;
      total += n;
      scheduled.push({ labels: { queue: q.name }, value: n });
      const created = oldestCreatedMs(q.parked);
      oldest.push({ labels: { queue: q.name }, value: created === null ? 0 : Math.max(0, now - created) / 1000 });
      const c = q.components;
      byDomain.inc({ domain: c.domain }, n);
      if (c.tenant !== null) byTenant.inc({ tenant: c.tenant }, n);
      if (c.tenant !== null && c.campaign !== null) byTenantCampaign.inc({ tenant: c.tenant, campaign: c.campaign }, n);
    }
    const ready: MetricSeries[] = [...this.m.ready.queues.values()].map((rq) => ({ labels: { service: rq.service }, value: rq.readyCount }));
    return [
      family('scheduled_count', 'number of messages in the scheduled queue', 'gauge', scheduled),
      single('scheduled_count_total', 'total number of messages across all scheduled queues', 'gauge', total),
      byDomain.snapshot(),
      byTenant.snapshot(),
      byTenantCampaign.snapshot(),
      single('scheduled_queue_count', 'number of scheduled queues', 'gauge', this.m.scheduled.slotCount),
      family('ready_count', 'number of messages in the ready queue', 'gauge', ready),
      family('scheduled_oldest_message_age_seconds', 'age in seconds of the oldest message parked in the scheduled queue, from its creation time; 0 when empty (kumo-lua)', 'gauge', oldest),
    ];
  }

  /** Local logs and log hooks (Logging.stats()). */
  private loggingFamilies(): MetricFamily[] {
    if (!this.logging) return [];
    const s = this.logging.stats();
    const hook = (name: string, help: string, type: Kind, pick: (h: (typeof s.hooks)[number]) => number, label = (n: string) => n) =>
      family(name, help, type, s.hooks.map((h) => ({ labels: { logger: label(h.name) }, value: pick(h) })));
    const local = (name: string, help: string, type: Kind, pick: (l: (typeof s.localLogs)[number]) => number) =>
      family(name, help, type, s.localLogs.map((l) => ({ labels: { logger: l.name }, value: pick(l) })));
    const submitFull = family('log_submit_full', 'number of times a logger input channel was full', 'counter', [
      ...s.hooks.map((h) => ({ labels: { logger: `hook-${h.name}` }, value: h.submitFull })),
      ...s.localLogs.map((l) => ({ labels: { logger: l.name }, value: l.submitFull })),
    ]);
    return [
      hook('log_hook_backlog_count', 'number of times a log hook record had to wait for back_pressure records already in flight', 'counter', (h) => h.backlogCount),
      submitFull,
      hook('log_hook_queued_count', 'log records waiting in the log hook queue (kumo-lua)', 'gauge', (h) => h.queued),
      hook('log_hook_in_flight_count', 'log records being turned into messages and enqueued (kumo-lua)', 'gauge', (h) => h.inFlight),
      hook('log_hook_enqueued', 'log hook messages handed to the queue manager (kumo-lua)', 'counter', (h) => h.enqueued),
      hook('log_hook_discarded', 'log hook messages dropped because should_enqueue_log_record said no (kumo-lua)', 'counter', (h) => h.discarded),
      hook('log_hook_errors', 'log hook records lost to template, policy or enqueue errors (kumo-lua)', 'counter', (h) => h.errors),
      local('local_log_queued_count', 'log records waiting to be written (kumo-lua)', 'gauge', (l) => l.queued),
      local('local_log_records_written', 'log records written to segments (kumo-lua)', 'counter', (l) => l.recordsWritten),
      local('local_log_segments_closed', 'log segments completed (kumo-lua)', 'counter', (l) => l.segmentsClosed),
      local('local_log_render_errors', 'log records that failed to render (kumo-lua)', 'counter', (l) => l.renderErrors),
      familyFromEntries('log_records_logged', 'records handed to logging, by record type (kumo-lua)', 'counter', 'type', Object.entries(s.recordsLogged)),
    ];
  }

  /**
   * Outcomes of the messages each log hook generated, from the dispatcher
   * counters of the ready queues whose site is `<hook>.log_hook`, and the
   * permanent failures of that scheduled queue.
   */
  private hookOutcomeFamilies(): MetricFamily[] {
    const e = this.m.metrics;
    const hooks = new Set<string>(this.logging?.stats().hooks.map((h) => h.name) ?? []);
    const sumBySite = (counter: LabeledCounter) => {
      const sums = new Map<string, number>();
      for (const [service, n] of counter.entries()) {
        const hook = hookOfQueueName(siteOfService(service));
        if (hook === null) continue;
        hooks.add(hook);
        sums.set(hook, (sums.get(hook) ?? 0) + n);
      }
      return sums;
    };
    const delivered = sumBySite(e.totalMessagesDelivered);
    const transfail = sumBySite(e.totalMessagesTransfail);
    for (const [queue] of e.failedByQueue.entries()) {
      const hook = hookOfQueueName(queue);
      if (hook !== null) hooks.add(hook);
    }
    const names = [...hooks].sort();
    const series = (value: (hook: string) => number) => names.map((h) => ({ labels: { logger: h }, value: value(h) }));
    return [
      family('log_hook_messages_delivered', 'log hook messages delivered by their custom_lua connection (kumo-lua)', 'counter', series((h) => delivered.get(h) ?? 0)),
      family('log_hook_messages_transfail', 'transient delivery failures of log hook messages; each is retried (kumo-lua)', 'counter', series((h) => transfail.get(h) ?? 0)),
      family('log_hook_messages_fail', 'log hook messages lost for good: Bounce, Expiration or AdminBounce (kumo-lua)', 'counter', series((h) => e.failedByQueue.get(h + LOG_HOOK_QUEUE_SUFFIX))),
    ];
  }
}

/**
 * The engine's and the loggers' metrics (provide it in METRICS_SOURCES).
 * `logging` may be null when no Logging exists (then only engine series).
 */
export function engineMetricsSource(manager: QueueManager, logging: Logging | null, clock: Clock): MetricsSource {
  return new EngineMetricsSource(manager, logging, clock);
}

/** End-to-end latency buckets (seconds): webhook round trips up to a day of retries. */
export const DELIVERY_LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

export interface DeliveryLatencyOptions {
  buckets?: number[];
  /** Distinct queue labels kept; later queues share `queue="_other"` (default 1000). */
  maxQueues?: number;
}

export const OTHER_QUEUE_LABEL = '_other';

/**
 * Observes every Delivery record: seconds from the message's creation to
 * the record's time, labelled by scheduled queue. Add it to the record
 * fan-out (it never blocks or throws) and to METRICS_SOURCES.
 */
export class DeliveryLatencyTap implements RecordSink, MetricsSource {
  private readonly histogram: HistogramFamily;
  private readonly queues = new Set<string>();
  private readonly maxQueues: number;

  constructor(private readonly clock: Clock, options: DeliveryLatencyOptions = {}) {
    const buckets = options.buckets ?? DELIVERY_LATENCY_BUCKETS;
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new Error('DeliveryLatencyTap buckets: expected finite, strictly increasing upper bounds');
    }
    this.maxQueues = options.maxQueues ?? 1000;
    this.histogram = new HistogramFamily(
      'message_delivery_latency',
      'seconds from message creation to its Delivery record, by scheduled queue (kumo-lua)',
      [...buckets],
    );
  }

  async log(event: RecordEvent): Promise<void> {
    this.observe(event);
  }

  /** Synchronous form of log(). */
  observe(event: RecordEvent): void {
    const msg = event.message;
    if (event.type !== 'Delivery' || !msg) return;
    const at = event.timestampMs ?? this.clock.now();
    this.histogram.observe({ queue: this.queueLabel(event) }, Math.max(0, at - msg.createdMs) / 1000);
  }

  private queueLabel(event: RecordEvent): string {
    let queue = event.queue;
    if (queue === undefined) {
      try {
        queue = event.message!.queueName();
      } catch {
        return OTHER_QUEUE_LABEL;
      }
    }
    if (this.queues.has(queue)) return queue;
    if (this.queues.size >= this.maxQueues) return OTHER_QUEUE_LABEL;
    this.queues.add(queue);
    return queue;
  }

  collect(): MetricFamily[] {
    return [this.histogram.snapshot()];
  }
}
