import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { DeliveryLatencyTap, engineMetricsSource, hookOfQueueName, oldestCreatedMs, siteOfService } from '../../src/daemon/metrics-adapter.ts';
import type { ConnectionFactory, DeliveryConnection, SendOutcome } from '../../src/delivery/types.ts';
import { Logging } from '../../src/logging/index.ts';
import type { Message } from '../../src/message/message.ts';
import { newSpoolIdAt } from '../../src/message/spool-id.ts';
import type { HistogramSeries, MetricFamily, MetricsSource } from '../../src/server/ports.ts';
import type { RecordEvent, RecordSink } from '../../src/records/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { advance, makeMessage, makeTestEngine, quiesce, RecordingSink, until, type TestEngine } from '../helpers/engine.ts';
import { startHttp, type HttpFixture } from '../server/http/setup.ts';

const EXAMPLE_RQ = 'lua:unspecified->example.com@lua:make.webhook';
const HOOK_RQ = 'lua:unspecified->webhook.log_hook@lua:make.webhook';

/**
 * custom_lua stand-in: ordinary mail is delivered / bounced / deferred by the
 * recipient's local part (ok, bad, soft); log-hook messages by the type of
 * the record they carry (Delivery ⇒ delivered, Bounce ⇒ 451, TransientFailure ⇒ 550).
 */
class ScriptedConnections implements ConnectionFactory {
  async connect(_ctor: string, domain: string): Promise<DeliveryConnection> {
    const decide = (msg: Message): SendOutcome => {
      if (domain === 'webhook.log_hook') {
        const type = (msg.getMeta('log_record') as { type: string }).type;
        if (type === 'Bounce') return { kind: 'rejected', code: 451, text: 'webhook busy' };
        if (type === 'TransientFailure') return { kind: 'rejected', code: 550, text: 'webhook refuses' };
        return { kind: 'delivered', content: 'posted' };
      }
      const local = msg.recipients[0]!.split('@')[0]!;
      if (local.startsWith('bad')) return { kind: 'rejected', code: 550, text: 'no such user' };
      if (local.startsWith('soft')) return { kind: 'rejected', code: 451, text: 'try later' };
      return { kind: 'delivered', content: 'ok' };
    };
    return { send: async (batch) => decide(batch[0]!), close: async () => {} };
  }
}

/** The record fan-out the daemon builds: recorder, logging, latency tap. */
function fanOut(...sinks: RecordSink[]): RecordSink {
  return { log: async (ev: RecordEvent) => void (await Promise.all(sinks.map((s) => s.log(ev)))) };
}

interface Fixture {
  engine: TestEngine;
  logging: Logging;
  records: RecordingSink;
  tap: DeliveryLatencyTap;
  source: MetricsSource;
}

let fx: Fixture | undefined;
let http: HttpFixture | undefined;
afterEach(async () => {
  await http?.close();
  await fx?.logging.close();
  await fx?.engine.close();
  fx = undefined;
  http = undefined;
});

async function setup(): Promise<Fixture> {
  const clock = new VirtualClock();
  let engine: TestEngine | undefined;
  const logging = new Logging({
    clock,
    nodeId: '6f0b1f1e-3c57-4e0a-9d83-5c0a2a3b4c5d',
    callbacks: {
      // What a log-hook policy does: route every record to `<hook>.log_hook`.
      shouldEnqueue: async (msg, hookName) => {
        msg.setMeta('queue', `${hookName}.log_hook`);
        return true;
      },
      enqueue: (msg, opts) => engine!.manager.insert(msg, { deferredSpool: opts.deferredSpool }),
    },
    onError: () => {},
  });
  logging.configureLogHook({ name: 'webhook' });
  const records = new RecordingSink(clock);
  const tap = new DeliveryLatencyTap(clock);
  engine = await makeTestEngine({ clock, manager: { connections: new ScriptedConnections(), records: fanOut(records, logging, tap) } });
  const source = engineMetricsSource(engine.manager, logging, clock);
  return { engine, logging, records, tap, source };
}

function find(families: MetricFamily[], name: string): MetricFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name}`);
  return f;
}

function value(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = find(families, name);
  if (f.type === 'histogram') throw new Error(`${name} is a histogram`);
  return f.series.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

function histogram(families: MetricFamily[], name: string, labels: Record<string, string>): { buckets: number[]; s: HistogramSeries } {
  const f = find(families, name);
  if (f.type !== 'histogram') throw new Error(`${name} is not a histogram`);
  const s = f.series.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  if (!s) throw new Error(`no series ${JSON.stringify(labels)} in ${name}`);
  return { buckets: f.buckets, s };
}

/** ok/bad/soft at T0, then ok2 (created at T0) inserted 30 s later; all log-hook traffic settled. */
async function runTraffic(f: Fixture): Promise<void> {
  const { engine: e, logging } = f;
  const ok = makeMessage('ok@example.com', {}, e.clock);
  const bad = makeMessage('bad@example.com', {}, e.clock);
  const soft = makeMessage('soft@example.com', {}, e.clock);
  const ok2 = makeMessage('ok2@example.com', {}, e.clock);
  for (const m of [ok, bad, soft]) await e.manager.insert(m);
  await until(() => f.records.events.length >= 3, 'first outcomes');
  await advance(e.clock, 30_000, 10_000);
  await e.manager.insert(ok2);
  // 4 hook records (2 Delivery, Bounce, TransientFailure) become 4 hook messages with 4 outcomes.
  await until(() => logging.stats().hooks[0]!.enqueued === 4, 'hook messages enqueued');
  await until(() => f.records.events.filter((ev) => ev.message?.getMeta('reception_protocol') === 'LogRecord').length === 4, 'hook outcomes');
  await logging.flush();
  await quiesce();
}

describe('engineMetricsSource', () => {
  it('reports KumoMTA counters by service, per-queue gauges, oldest age and logger counters after deliveries and failures', async () => {
    const f = (fx = await setup());
    await runTraffic(f);
    const m = f.source.collect();

    expect(value(m, 'total_messages_delivered', { service: EXAMPLE_RQ })).toBe(2);
    expect(value(m, 'total_messages_fail', { service: EXAMPLE_RQ })).toBe(1);
    expect(value(m, 'total_messages_transfail', { service: EXAMPLE_RQ })).toBe(1);
    expect(value(m, 'total_messages_delivered', { service: HOOK_RQ })).toBe(2);
    expect(value(m, 'total_messages_delivered', { service: 'lua' })).toBe(4);
    expect(value(m, 'total_messages_delivered_by_queue', { queue: 'example.com' })).toBe(2);
    expect(value(m, 'total_messages_fail_by_queue', { queue: 'example.com' })).toBe(1);
    expect(value(m, 'total_connection_count', { service: EXAMPLE_RQ })).toBeGreaterThanOrEqual(1);

    // soft@ and the hook message about bad@'s Bounce wait for their retry.
    expect(value(m, 'scheduled_count', { queue: 'example.com' })).toBe(1);
    expect(value(m, 'scheduled_count', { queue: 'webhook.log_hook' })).toBe(1);
    expect(value(m, 'scheduled_count_total')).toBe(2);
    expect(value(m, 'scheduled_by_domain', { domain: 'example.com' })).toBe(1);
    expect(value(m, 'scheduled_queue_count')).toBe(2);
    expect(value(m, 'ready_count', { service: EXAMPLE_RQ })).toBe(0);
    expect(value(m, 'scheduled_oldest_message_age_seconds', { queue: 'example.com' })).toBe(30);

    // Logging: the hook's own view and record counts (hook-message outcomes are logged too).
    expect(value(m, 'log_hook_enqueued', { logger: 'webhook' })).toBe(4);
    expect(value(m, 'log_hook_errors', { logger: 'webhook' })).toBe(0);
    expect(value(m, 'log_hook_queued_count', { logger: 'webhook' })).toBe(0);
    expect(value(m, 'log_hook_backlog_count', { logger: 'webhook' })).toBe(0);
    expect(value(m, 'log_submit_full', { logger: 'hook-webhook' })).toBe(0);
    expect(value(m, 'log_records_logged', { type: 'Delivery' })).toBe(4);
    expect(value(m, 'log_records_logged', { type: 'Bounce' })).toBe(2);
    expect(value(m, 'log_records_logged', { type: 'TransientFailure' })).toBe(2);

    // Per-hook outcomes of the webhook pipeline.
    expect(value(m, 'log_hook_messages_delivered', { logger: 'webhook' })).toBe(2);
    expect(value(m, 'log_hook_messages_transfail', { logger: 'webhook' })).toBe(1);
    expect(value(m, 'log_hook_messages_fail', { logger: 'webhook' })).toBe(1);
  });

  it('oldest age grows with the clock and drops to 0 once the queue empties', async () => {
    const f = (fx = await setup());
    await runTraffic(f);
    await advance(f.engine.clock, 60_000, 10_000);
    let m = f.source.collect();
    expect(value(m, 'scheduled_oldest_message_age_seconds', { queue: 'example.com' })).toBe(90);
    expect(value(m, 'scheduled_oldest_message_age_seconds', { queue: 'webhook.log_hook' })).toBe(90);
    await f.engine.manager.admin.bounce({ domain: 'example.com' }, 'drop', { suppressLogging: true });
    m = f.source.collect();
    expect(value(m, 'scheduled_count', { queue: 'example.com' })).toBe(0);
    expect(value(m, 'scheduled_oldest_message_age_seconds', { queue: 'example.com' })).toBe(0);
    expect(value(m, 'total_messages_fail_by_queue', { queue: 'example.com' })).toBe(2);
  });

  it('renders through the real /metrics and /metrics.json endpoints, with the latency tap as a second source', async () => {
    const f = (fx = await setup());
    await runTraffic(f);
    http = await startHttp({ sources: [f.source, f.tap] });
    const text = await (await fetch(http.url + '/metrics')).text();
    expect(text).toContain('# TYPE total_messages_delivered counter');
    expect(text).toContain(`total_messages_delivered{service="${EXAMPLE_RQ}"} 2`);
    expect(text).toContain('scheduled_count{queue="webhook.log_hook"} 1');
    expect(text).toContain('log_hook_messages_transfail{logger="webhook"} 1');
    expect(text).toContain('# TYPE message_delivery_latency histogram');
    expect(text).toContain('message_delivery_latency_bucket{queue="example.com",le="10"} 1');
    expect(text).toContain('message_delivery_latency_bucket{queue="example.com",le="30"} 2');
    expect(text).toContain('message_delivery_latency_sum{queue="example.com"} 30');
    const json = (await (await fetch(http.url + '/metrics.json')).json()) as Record<string, { type: string; value: unknown }>;
    expect(json.scheduled_count!.value).toEqual({ queue: { 'example.com': 1, 'webhook.log_hook': 1 } });
    expect(json.log_hook_messages_delivered!.value).toEqual({ logger: { webhook: 2 } });
  });
});

describe('DeliveryLatencyTap', () => {
  it('observes Delivery records only, creation to record time, by queue', async () => {
    const f = (fx = await setup());
    await runTraffic(f);
    const [fam] = f.tap.collect();
    const { buckets, s } = histogram([fam!], 'message_delivery_latency', { queue: 'example.com' });
    expect(s.count).toBe(2);
    expect(s.sum).toBe(30);
    expect(s.bucketCounts[buckets.indexOf(0.01)]).toBe(1);
    expect(s.bucketCounts[buckets.indexOf(10)]).toBe(1);
    expect(s.bucketCounts[buckets.indexOf(30)]).toBe(2);
    // The hook messages carrying the two Delivery records were created when the record was logged.
    const hook = histogram([fam!], 'message_delivery_latency', { queue: 'webhook.log_hook' }).s;
    expect(hook.count).toBe(2);
    expect(hook.sum).toBe(0);
  });

  it('caps distinct queue labels and rejects unordered buckets', async () => {
    const clock = { now: () => 10_000, setTimer: () => ({ cancel() {} }), sleep: async () => {} };
    const tap = new DeliveryLatencyTap(clock, { maxQueues: 2, buckets: [1, 5] });
    const msg = (queue: string) => ({ createdMs: 8_000, queueName: () => queue }) as unknown as Message;
    for (const q of ['a.example', 'b.example', 'c.example', 'a.example']) await tap.log({ type: 'Delivery', message: msg(q), response: { code: 200, enhanced_code: null, content: '', command: null } });
    await tap.log({ type: 'Bounce', message: msg('a.example'), response: { code: 550, enhanced_code: null, content: '', command: null } });
    const fam = tap.collect()[0]!;
    if (fam.type !== 'histogram') throw new Error('histogram expected');
    expect(fam.series.map((s) => [s.labels.queue, s.count, s.bucketCounts])).toEqual([
      ['a.example', 2, [0, 2]], ['b.example', 1, [0, 1]], ['_other', 1, [0, 1]],
    ]);
    expect(() => new DeliveryLatencyTap(clock, { buckets: [5, 1] })).toThrow(/strictly increasing/);
  });
});

describe('helpers', () => {
  it('oldestCreatedMs compares spool-id creation times exactly and prefers in-memory createdMs', () => {
    const at = (ms: number) => ({ id: newSpoolIdAt(ms).id, msg: null });
    const oldest = Date.UTC(2025, 11, 31, 23, 59, 59, 999);
    const released = [at(Date.UTC(2026, 0, 1, 0, 0, 5)), at(oldest), at(oldest + 1), at(Date.UTC(2026, 0, 1))];
    expect(oldestCreatedMs(released)).toBe(oldest);
    expect(oldestCreatedMs([...released, { id: 'x', msg: { createdMs: oldest - 5 } }])).toBe(oldest - 5);
    expect(oldestCreatedMs([{ id: 'z'.repeat(32), msg: null }, { id: 'short', msg: null }])).toBeNull();
    expect(oldestCreatedMs([])).toBeNull();
  });

  it('siteOfService and hookOfQueueName pick log-hook sites out of service labels', () => {
    expect(siteOfService(HOOK_RQ)).toBe('webhook.log_hook');
    expect(siteOfService('lua')).toBeNull();
    expect(hookOfQueueName('webhook.log_hook')).toBe('webhook');
    expect(hookOfQueueName('example.com')).toBeNull();
    expect(hookOfQueueName('.log_hook')).toBeNull();
  });
});
