/**
 * Review (loss/duplication) at the queue-engine level: spool enumeration
 * racing new work, shutdown with sends in flight, deferred-spool messages.
 * Real SQLite spools in temp dirs, a VirtualClock, real HTTP where it matters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionFactory, SendOutcome } from '../../src/delivery/types.ts';
import { Message } from '../../src/message/message.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';
import { advance, luaQueueConfig, makeMessage, makeTestEngine, quiesce, spoolIdAt, tempDir, until, type TestEngine } from '../helpers/engine.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const engines: TestEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});
async function engineWith(...args: Parameters<typeof makeTestEngine>): Promise<TestEngine> {
  const e = await makeTestEngine(...args);
  engines.push(e);
  return e;
}

/** A connection whose sends wait until the test answers them. */
function manualConnections() {
  const pending: { ids: string[]; answer: (o: SendOutcome) => void }[] = [];
  const factory: ConnectionFactory = {
    async connect() {
      return {
        send: (batch) => new Promise<SendOutcome>((resolve) => pending.push({ ids: batch.map((m) => m.id), answer: resolve })),
        close: async () => {},
      };
    },
  };
  return { factory, pending };
}

describe('review: restart enumeration racing new inserts', () => {
  // Enumeration reads only what was spooled before it began (KumoMTA skips newer entries).
  it('a message inserted while a >5000-message spool is being enumerated is delivered once', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    // A backlog from an earlier run: 5001 messages, due in two hours.
    const seed = new SqliteSpool({ path: dir.path });
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 5001; i++) {
      const m = makeMessage(`old${i}@backlog.example`, {}, clock);
      m.due = clock.now() + 2 * 3600_000;
      saves.push(seed.save(m));
    }
    await Promise.all(saves);
    seed.close();

    const e = await engineWith({
      dir, clock,
      manager: { hooks: { diagnostic: () => {}, spoolMessageEnumerated: async () => {} } },
    });
    // A new message (id sorting after page 1, as half of all new ids do) arrives during enumeration.
    const fresh = new Message({
      id: 'ffffffff' + spoolIdAt(clock.now()).slice(8),
      sender: 'sender@example.com', recipients: ['new@fresh.example'],
      data: new TextEncoder().encode('Subject: new\r\n\r\nnew\r\n'),
    });
    fresh.due = clock.now() + 3600_000;
    const started = e.manager.start();
    await e.manager.insert(fresh);
    const summary = await started;
    expect(summary.requeued).toBeGreaterThanOrEqual(5001);

    const entries = e.manager.scheduled.queues().flatMap((q) => [...q.parked]).filter((p) => p.id === fresh.id);
    await advance(clock, 3700_000, 60_000);
    expect(e.sink.ids().filter((id) => id === fresh.id)).toHaveLength(1);
    expect(entries).toHaveLength(1);
  }, 60_000);

  it('below one page (<= 5000 messages) a concurrent insert is not enumerated twice', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const seed = new SqliteSpool({ path: dir.path });
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const m = makeMessage(`old${i}@backlog.example`, {}, clock);
      m.due = clock.now() + 2 * 3600_000;
      saves.push(seed.save(m));
    }
    await Promise.all(saves);
    seed.close();
    const e = await engineWith({ dir, clock, manager: { hooks: { diagnostic: () => {}, spoolMessageEnumerated: async () => {} } } });
    const fresh = makeMessage('new@fresh.example', {}, clock);
    fresh.due = clock.now() + 3600_000;
    const started = e.manager.start();
    await e.manager.insert(fresh);
    expect((await started).requeued).toBe(50);
    await advance(clock, 3700_000, 60_000);
    expect(e.sink.ids().filter((id) => id === fresh.id)).toHaveLength(1);
  });
});

describe('review: shutdown with a batch in flight', () => {
  it('a send answered during shutdown is logged and removed; a deferred message still queued is saved; a restart sends only that one', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const { factory, pending } = manualConnections();
    const e1 = await makeTestEngine({ dir, clock, manager: { connections: factory, shutdownTimeoutMs: 60_000 }, queueConfig: () => luaQueueConfig({ batch_size: 2, max_batch_latency: '0s' }), pathConfig: { connection_limit: 1 } });
    const ok = makeMessage('ok@example.com', {}, clock);
    const bad = makeMessage('bad@example.com', {}, clock);
    await e1.manager.insert(ok, { deferredSpool: true });
    await until(() => pending.length === 1, 'first send');
    await e1.manager.insert(bad, { deferredSpool: true });
    const done = e1.manager.shutdown();
    await quiesce();
    pending[0]!.answer({ kind: 'delivered', content: 'ok' });
    await done;
    e1.spool.close();
    await e1.sink.stop();
    // `bad` never reached a dispatcher: saved from the ready queue at shutdown (deferred ⇒ first write).
    expect(e1.records.of('Delivery').map((r) => r.message!.id)).toEqual([ok.id]);

    const e2 = await engineWith({ dir, clock: new VirtualClock(clock.now()) });
    await e2.manager.start();
    await advance(e2.clock, 1000);
    expect(e2.sink.ids()).toEqual([bad.id]);
  });

  it('a deferred-spool batch whose send fails during shutdown is saved and retried after restart', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const { factory, pending } = manualConnections();
    const e1 = await makeTestEngine({ dir, clock, manager: { connections: factory, shutdownTimeoutMs: 60_000 } });
    const m = makeMessage('a@example.com', {}, clock);
    await e1.manager.insert(m, { deferredSpool: true });
    await until(() => pending.length === 1, 'send started');
    expect(e1.spool.count()).toBe(0);
    const done = e1.manager.shutdown();
    await quiesce();
    pending[0]!.answer({ kind: 'rejected', code: 451, text: 'try later' });
    await done;
    e1.spool.close();
    await e1.sink.stop();
    expect(e1.records.of('TransientFailure')).toHaveLength(1);

    const e2 = await engineWith({ dir, clock: new VirtualClock(clock.now()) });
    expect(e2.spool.count()).toBe(1);
    await e2.manager.start();
    await advance(e2.clock, 25 * 60_000, 60_000); // default retry_interval 20 m (+jitter)
    expect(e2.sink.ids()).toEqual([m.id]);
  });

  // KumoMTA saves a force-aborted dispatcher's batch (engine.md §11 step 5): a deferred-spool
  // message whose send outlives the shutdown bound is written out and comes back at the next start.
  it('a deferred-spool message stuck in send past the shutdown bound is saved for the next start', async () => {
    const { factory, pending } = manualConnections();
    const e = await engineWith({ manager: { connections: factory, shutdownTimeoutMs: 30_000 } });
    const m = makeMessage('a@example.com', {}, e.clock);
    await e.manager.insert(m, { deferredSpool: true });
    await until(() => pending.length === 1, 'send started');
    const done = e.manager.shutdown();
    await quiesce();
    await e.clock.advance(30_000);
    await done;
    expect(e.spool.count()).toBe(1);
  });
});

describe('review: spool group commit failing (disk full)', () => {
  it('a deferred message parked while the spool cannot commit stays in memory and is saved at shutdown once space is back', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const { factory, pending } = manualConnections();
    const e1 = await makeTestEngine({ dir, clock, manager: { connections: factory } });
    const db = (e1.spool as unknown as { db: { pragma(s: string, o?: { simple: boolean }): unknown } }).db;
    const m = new Message({ sender: 's@example.com', recipients: ['a@example.com'], data: new TextEncoder().encode('Subject: big\r\n\r\n' + 'x'.repeat(200_000)) });
    await e1.manager.insert(m, { deferredSpool: true });
    await until(() => pending.length === 1, 'send started');
    // Disk full: no page may be added any more.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    pending[0]!.answer({ kind: 'rejected', code: 451, text: 'later' });
    await quiesce();
    expect(e1.spool.count()).toBe(0); // the park-time save failed (and was only diagnosed)
    db.pragma('max_page_count = 1073741823');
    await e1.manager.shutdown();
    e1.spool.close();
    await e1.sink.stop();
    const e2 = await engineWith({ dir, clock: new VirtualClock(clock.now()) });
    expect(e2.spool.count()).toBe(1);
    expect(e2.spool.load(m.id)?.getData().length).toBe(m.getData().length);
  });
});
