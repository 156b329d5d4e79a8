import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionFactory, SendOutcome } from '../../src/delivery/types.ts';
import { parseQueueConfig } from '../../src/queue/queue-config.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { advance, luaQueueConfig, makeMessage, makeTestEngine, quiesce, tempDir, until, type TestEngine } from '../helpers/engine.ts';

const engines: TestEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});
async function engineWith(...args: Parameters<typeof makeTestEngine>) {
  const e = await makeTestEngine(...args);
  engines.push(e);
  return e;
}

describe('graceful shutdown (engine.md §11)', () => {
  it('lets an in-flight send finish and be logged, keeps the rest in the spool, refuses intake', async () => {
    let release!: (o: SendOutcome) => void;
    const sends: string[] = [];
    let closes = 0;
    const slow: ConnectionFactory = {
      async connect() {
        return {
          send: (batch) => {
            sends.push(...batch.map((m) => m.id));
            return new Promise<SendOutcome>((resolve) => (release = resolve));
          },
          close: async () => void closes++,
        };
      },
    };
    const e = await engineWith({ manager: { connections: slow }, pathConfig: { connection_limit: 1 } });
    const first = makeMessage('a@example.com', {}, e.clock);
    await e.manager.insert(first);
    const queued = Array.from({ length: 3 }, (_, i) => makeMessage(`q${i}@example.com`, {}, e.clock));
    for (const m of queued) await e.manager.insert(m);
    await until(() => sends.length === 1, 'send started');
    const done = e.manager.shutdown();
    // An insert during shutdown is saved and dropped (engine.md §11): it waits in the spool for the next start.
    const late = makeMessage('late@example.com', {}, e.clock);
    await e.manager.insert(late);
    await quiesce();
    let finished = false;
    void done.then(() => (finished = true));
    await quiesce();
    expect(finished).toBe(false);
    release({ kind: 'delivered', content: 'ok' });
    await done;
    expect(e.records.of('Delivery').map((r) => r.message!.id)).toEqual([first.id]);
    expect(closes).toBe(1);
    expect(sends).toEqual([first.id]);
    expect(e.spool.count()).toBe(4);
    expect(e.spool.load(late.id)?.recipients).toEqual(['late@example.com']);
  });

  it('gives up waiting for a stuck send after the bound; the message stays spooled', async () => {
    const stuck: ConnectionFactory = {
      async connect() {
        return { send: () => new Promise<SendOutcome>(() => {}), close: async () => {} };
      },
    };
    const e = await engineWith({ manager: { connections: stuck, shutdownTimeoutMs: 30_000 } });
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await quiesce();
    const done = e.manager.shutdown();
    await e.clock.advance(30_000); // not advance(): the engine never becomes idle here
    await done;
    expect(e.spool.count()).toBe(1);
  });
});

describe('restart', () => {
  it('re-queues with persisted attempts and due time (kumo-lua keeps retry spacing)', async () => {
    const dir = tempDir();
    try {
      const clock = new VirtualClock();
      const cfg = () => luaQueueConfig({}, { retry_interval: '10m' });
      const a = await makeTestEngine({ dir, clock, queueConfig: cfg });
      a.sink.respond = () => 451;
      const msg = makeMessage('r@example.com', { tenant: 'acme' }, clock);
      await a.manager.insert(msg);
      await until(() => a.records.of('TransientFailure').length === 1, 'first failure');
      await advance(a.clock, 600_000);
      await until(() => a.records.of('TransientFailure').length === 2, 'second failure');
      await a.close();

      await advance(clock, 60_000); // down for a minute
      const b = await makeTestEngine({ dir, clock, queueConfig: cfg });
      engines.push(b);
      const summary = await b.manager.start();
      expect(summary).toEqual({ requeued: 1, expired: 0, unresolved: 0, corrupt: 0 });
      const info = b.manager.admin.inspectScheduledQueue('acme@example.com')!;
      expect((info.messages as { message: { due: string; num_attempts: number } }[])[0]!.message).toMatchObject({
        num_attempts: 2,
        due: new Date(Date.UTC(2026, 0, 1, 0, 30)).toISOString().replace('.000Z', 'Z'),
      });
      await advance(clock, 18 * 60_000, 60_000);
      expect(b.records.of('Delivery')).toHaveLength(0);
      await advance(clock, 60_000);
      await until(() => b.records.of('Delivery').length === 1, 'delivery at the persisted due time');
      expect(b.records.of('Delivery')[0]!.numAttempts).toBe(2);
      expect(b.records.of('Delayed')).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });

  it('expires messages older than max_age at start-up (variant C) and delivers the rest now', async () => {
    const dir = tempDir();
    try {
      const clock = new VirtualClock();
      const spool = new SqliteSpool({ path: dir.path });
      const old = makeMessage('old@example.com', {}, clock);
      await spool.save(old);
      await clock.advance(3_600_000);
      const fresh = makeMessage('new@example.com', {}, clock);
      await spool.save(fresh);
      spool.close();
      await clock.advance(1_000);
      const e = await engineWith({ dir, clock, queueConfig: () => luaQueueConfig({}, { max_age: '1h' }) });
      const summary = await e.manager.start();
      expect(summary).toMatchObject({ requeued: 1, expired: 1 });
      const [exp] = e.records.of('Expiration');
      expect(exp!.message!.id).toBe(old.id);
      expect(exp!.response.content).toBe('Next delivery time would be 1h 1s after creation, which exceeds max_age=1h');
      await until(() => e.records.of('Delivery').length === 1, 'fresh delivered immediately');
      expect(e.records.of('Delivery')[0]!.message!.id).toBe(fresh.id);
    } finally {
      dir.cleanup();
    }
  });
});

describe('queue config resolution (engine.md §2.3)', () => {
  it('calls get_queue_config once per queue, refreshes after refresh_interval on the 10 s tick', async () => {
    const e = await engineWith({ queueConfig: () => luaQueueConfig({}, { refresh_interval: '15s' }) });
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    expect(e.queueConfigCalls).toHaveLength(1);
    await advance(e.clock, 10_000);
    expect(e.queueConfigCalls).toHaveLength(1);
    await advance(e.clock, 10_000);
    expect(e.queueConfigCalls).toHaveLength(2);
  });

  it('caches a failed resolution for 60 s', async () => {
    let fail = true;
    const e = await engineWith({
      manager: {
        resolveQueueConfig: async () => {
          if (fail) throw new Error('policy exploded');
          return luaQueueConfig();
        },
      },
    });
    await expect(e.manager.insert(makeMessage('a@example.com', {}, e.clock))).rejects.toThrow('policy exploded');
    fail = false;
    await expect(e.manager.insert(makeMessage('a@example.com', {}, e.clock))).rejects.toThrow('policy exploded');
    await advance(e.clock, 60_000);
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'works after the negative cache');
    expect(e.spool.count()).toBe(2); // the two refused messages wait in the spool for the next start
  });
});

describe('special queues and hooks', () => {
  it('the null queue is not spooled; a message re-bound into null is deleted silently when promoted', async () => {
    const e = await engineWith({
      manager: {
        hooks: {
          diagnostic: () => {},
          requeueMessage: async (msg) => msg.setMeta('queue', 'null'),
        },
      },
    });
    await e.manager.insert(makeMessage('a@example.com', { queue: 'null' }, e.clock));
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
    e.sink.respond = () => 451;
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    await quiesce();
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
    expect(e.records.events.map((r) => r.type)).toEqual(['TransientFailure']);
  });

  it('requeue_message moving the message to another queue increments attempts and makes it due now', async () => {
    const e = await engineWith({
      manager: {
        hooks: {
          diagnostic: () => {},
          requeueMessage: async (msg, line, ctx, increment) => {
            seen.push({ line, ctx, increment });
            msg.setMeta('tenant', 'rerouted');
          },
        },
      },
    });
    const seen: { line: string; ctx: string[]; increment: boolean }[] = [];
    let calls = 0;
    e.sink.respond = () => (++calls === 1 ? 451 : 200);
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivered from the new queue');
    expect(seen).toEqual([{ line: '451 status 451', ctx: ['LoggedTransientFailure'], increment: true }]);
    expect(e.records.of('Delivery')[0]!.numAttempts).toBe(1);
    expect(e.queueConfigCalls.map((c) => c[1])).toEqual(['null', 'rerouted']);
  });

  it('requeue_message calling kumo.reject bounces the message', async () => {
    const e = await engineWith({ manager: { hooks: { requeueMessage: async () => ({ reject: { code: 550, text: 'no retries here' } }) } } });
    e.sink.respond = () => 451;
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    await until(() => e.records.of('Bounce').length === 1, 'bounce');
    expect(e.records.of('Bounce')[0]!.response).toEqual({ code: 550, enhanced_code: null, content: 'no retries here', command: null });
  });

  it('throttle_insert_ready_queue delaying a message: Delayed, due replaced by now + random [0,60) s', async () => {
    let first = true;
    const e = await engineWith({
      manager: {
        hooks: {
          throttleInsertReadyQueue: async (msg) => {
            if (first) msg.due = msg.createdMs + 3_600_000;
            first = false;
          },
        },
      },
    });
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    const [d] = e.records.of('Delayed');
    expect(d!.response.content).toBe('Context: Received, ThrottledByThrottleInsertReadyQueue. Next due in 30s at 2026-01-01T00:00:30Z');
    expect(e.manager.metrics.delayedDueToThrottleInsertReady.get('b@example.com'.split('@')[1]!)).toBe(1);
    await advance(e.clock, 30_000);
    await until(() => e.records.of('Delivery').length === 1, 'delivered');
  });

  it('a scheduled max_message_rate requeues without increment for the throttle delay', async () => {
    const e = await engineWith({ queueConfig: () => luaQueueConfig({}, { max_message_rate: '1/10s' }) });
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    const [d] = e.records.of('Delayed');
    expect(d!.response.content).toBe('Context: Received, MessageRateThrottle. Next due in 10s at 2026-01-01T00:00:10Z');
    expect(d!.numAttempts).toBe(0);
    await advance(e.clock, 10_000);
    await until(() => e.records.of('Delivery').length === 2, 'both delivered');
  });

  it('an unhealthy spool suspends delivery (Delayed 451 4.4.4, attempts incremented)', async () => {
    const e = await engineWith();
    (e.spool as unknown as { health: () => unknown }).health = () => ({ healthy: false, reason: 'disk full' });
    await e.manager.insert(makeMessage('warmup@example.com', {}, e.clock));
    await advance(e.clock, 10_000);
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    const [d] = e.records.of('Delayed').filter((r) => r.response.code === 451);
    expect(d).toMatchObject({ response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 4 }, content: 'KumoMTA internal: delivery suspended: spool unhealthy: disk full' }, site: 'example.com' });
  });

  it('unsupported protocols fail into a retry with a clear reason', async () => {
    const e = await engineWith({ queueConfig: () => parseQueueConfig({ protocol: { xfer: { target: 'http://127.0.0.1:1' } } }) });
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    expect(e.records.of('TransientFailure')[0]!.response.content).toBe('KumoMTA internal: example.com error while inserting into ready queue: protocol xfer is not supported by kumo-lua');
  });
});
