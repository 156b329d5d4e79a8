import { afterEach, describe, expect, it } from 'vitest';
import { criteriaMatch } from '../../src/queue/admin-rules.ts';
import { advance, luaQueueConfig, makeMessage, makeTestEngine, quiesce, until, type TestEngine } from '../helpers/engine.ts';

let engine: TestEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

describe('admin criteria', () => {
  it('matches queue-name components exactly; absent components never match a given field', () => {
    expect(criteriaMatch({ domain: 'example.com' }, 'camp:t@example.com!relay')).toBe(true);
    expect(criteriaMatch({ tenant: 't' }, 'camp:t@example.com')).toBe(true);
    expect(criteriaMatch({ tenant: 't' }, 'example.com')).toBe(false);
    expect(criteriaMatch({ campaign: 'camp', tenant: '' }, 'camp:@example.com')).toBe(true);
    expect(criteriaMatch({ routingDomain: 'relay' }, 'example.com!relay')).toBe(true);
    expect(criteriaMatch({}, 'anything')).toBe(true);
    expect(criteriaMatch({ queueNames: ['a.example'], domain: 'example.com' }, 'example.com')).toBe(false);
    expect(criteriaMatch({ queueNames: ['a.example'] }, 'a.example')).toBe(true);
  });
});

describe('scheduled-queue suspension', () => {
  it('gives TransientFailure 451 4.4.4 and requeues with increment', async () => {
    const e = (engine = await makeTestEngine());
    const rule = e.manager.admin.suspend({ domain: 'example.com' }, 'maintenance');
    expect(e.manager.admin.listSuspends()).toEqual([expect.objectContaining({ id: rule.id, reason: 'maintenance', remaining: '5m' })]);
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    const [tf] = e.records.of('TransientFailure');
    expect(tf).toMatchObject({
      response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 4 }, content: 'KumoMTA internal: scheduled queue is suspended: maintenance', command: null },
      site: 'example.com',
      numAttempts: 0,
    });
    expect(e.sink.requests.length).toBe(0);
    await quiesce();
    expect(e.manager.admin.scheduledCount('example.com')).toBe(1);
    const info = e.manager.admin.inspectScheduledQueue('example.com')!;
    expect((info.messages as { message: { num_attempts: number } }[])[0]!.message.num_attempts).toBe(1);
    expect(e.manager.admin.resume(rule.id)).toBe(true);
    await advance(e.clock, 1_230_000, 10_000);
    await until(() => e.records.of('Delivery').length === 1, 'delivered after resume');
  });

  it('a batch already held by a dispatcher is still sent after a suspension', async () => {
    const e = (engine = await makeTestEngine({
      queueConfig: () => luaQueueConfig({ batch_size: 10, min_batch_size: 10, max_batch_latency: '10s' }),
      pathConfig: { connection_limit: 1, idle_timeout: '60s' },
    }));
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await quiesce();
    await e.manager.insert(makeMessage('b@example.com', {}, e.clock));
    await quiesce();
    // both are in the dispatcher's hand now; suspension affects only later pops
    e.manager.admin.suspend({ domain: 'example.com' }, 'later');
    await advance(e.clock, 10_000);
    await until(() => e.records.of('Delivery').length === 2, 'held batch still sent');
    expect(e.records.of('TransientFailure')).toEqual([]);
    expect(e.factory.batchSizes).toEqual([2]);
  });

  it('a dispatcher popping a suspended queue message fails it too, with the ready queue as site', async () => {
    const e = (engine = await makeTestEngine({ pathConfig: { connection_limit: 1 } }));
    e.sink.delayMs = 300;
    const a = makeMessage('a@example.com', {}, e.clock);
    const b = makeMessage('b@example.com', {}, e.clock);
    await e.manager.insert(a);
    await until(() => e.sink.requests.length === 1, 'a in flight');
    await e.manager.insert(b);
    // b waits in the ready queue's FIFO behind the busy dispatcher
    e.manager.admin.suspend({ domain: 'example.com' }, 'popped late');
    await until(() => e.records.of('TransientFailure').length === 1, 'b failed at the pop', 10_000);
    const [tf] = e.records.of('TransientFailure');
    expect(tf).toMatchObject({
      message: b,
      site: 'unspecified->example.com@lua:make.webhook',
      response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 4 }, content: 'KumoMTA internal: scheduled queue is suspended: popped late' },
    });
    expect(tf!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.records.of('Delivery').map((r) => r.message)).toEqual([a]);
    expect(e.sink.requests).toHaveLength(1);
  });
});

describe('admin bounce', () => {
  it('sweeps parked messages and bounces new arrivals with AdminBounce 551 5.7.1 site localhost', async () => {
    const e = (engine = await makeTestEngine());
    e.sink.respond = () => 451;
    await e.manager.insert(makeMessage('a@example.com', { tenant: 't1' }, e.clock));
    await e.manager.insert(makeMessage('b@other.example', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 2, 'both parked');
    await quiesce();
    expect(e.manager.admin.scheduledCountTotal()).toBe(2);
    const rule = await e.manager.admin.bounce({ tenant: 't1' }, 'cleanup');
    const bounced = e.records.of('AdminBounce');
    expect(bounced).toHaveLength(1);
    expect(bounced[0]).toMatchObject({
      response: { code: 551, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'Administrator bounced with reason: cleanup', command: null },
      site: 'localhost', egressPool: null, egressSource: null, deliveryProtocol: null, numAttempts: 1,
    });
    expect(e.manager.admin.scheduledCountTotal()).toBe(1);
    await e.manager.insert(makeMessage('c@example.com', { tenant: 't1' }, e.clock));
    expect(e.records.of('AdminBounce')).toHaveLength(2);
    expect(e.manager.admin.listBounces()[0]).toMatchObject({ id: rule.id, totalBounced: 2 });
    expect(e.manager.admin.listBounces()[0]!.bounced.get('t1@example.com')).toBe(2);
    await e.spool.flush();
    expect(e.spool.count()).toBe(1);
    expect(e.manager.admin.deleteBounce(rule.id)).toBe(true);
    expect(e.manager.admin.deleteBounce(rule.id)).toBe(false);
  });

  it('suppress_logging deletes without a record', async () => {
    const e = (engine = await makeTestEngine());
    await e.manager.admin.bounce({}, 'quiet', { suppressLogging: true });
    await e.manager.insert(makeMessage('a@example.com', {}, e.clock));
    await e.spool.flush();
    expect(e.records.events).toEqual([]);
    expect(e.spool.count()).toBe(0);
  });
});

describe('inspection and states', () => {
  it('lists parked messages with due, attempts and the config; 404-style null for unknown queues', async () => {
    const e = (engine = await makeTestEngine({ queueConfig: () => luaQueueConfig({}, { retry_interval: '2m' }) }));
    e.sink.respond = () => 451;
    const msg = makeMessage('r@example.com', { x_k: 1 }, e.clock);
    await e.manager.insert(msg);
    await until(() => e.records.of('TransientFailure').length === 1, 'parked');
    await quiesce();
    expect(e.manager.admin.inspectScheduledQueue('nope.example')).toBeNull();
    const info = e.manager.admin.inspectScheduledQueue('example.com', { wantBody: true })!;
    expect(info).toMatchObject({
      queue_name: 'example.com',
      num_scheduled: 1,
      delayed_metric: 1,
      now: '2026-01-01T00:00:00Z',
      messages: [{ id: msg.id, message: { sender: 'sender@example.com', recipient: 'r@example.com', meta: { x_k: 1 }, due: '2026-01-01T00:02:00Z', num_attempts: 1 } }],
    });
    expect((info.messages as { message: { data: string } }[])[0]!.message.data).toContain('Subject: test');
    expect((info.queue_config as { retry_interval: string }).retry_interval).toBe('2m');
    expect(e.manager.admin.scheduledQueues()).toEqual([{ name: 'example.com', scheduledCount: 1, lastChange: e.clock.now() }]);
  });

  it('reports connection_limited when a shared limit has no lease left', async () => {
    const e = (engine = await makeTestEngine({ pathConfig: { additional_connection_limits: { shared: 1 } } }));
    e.manager.leases.tryAcquire('shared', 1); // someone else holds the only lease
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    expect(e.manager.admin.readyQueueStates()).toEqual({
      states_by_ready_queue: { 'unspecified->example.com@lua:make.webhook': { connection_limited: { context: 'TooManyLeases for shared', since: '2026-01-01T00:00:00Z' } } },
    });
    expect(e.manager.admin.readyCount('unspecified->example.com@lua:make.webhook')).toBe(1);
    e.manager.leases.release('shared');
    await advance(e.clock, 60_000);
    await until(() => e.records.of('Delivery').length === 1, 'delivered once the lease is free');
    expect(e.manager.admin.readyQueueStates()).toEqual({ states_by_ready_queue: {} });
  });

  it('ready-queue suspension drains the FIFO back and spawns no dispatchers', async () => {
    const e = (engine = await makeTestEngine());
    const rq = 'unspecified->example.com@lua:make.webhook';
    e.manager.admin.suspendReadyQueue(rq, 'paused');
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    const tf = e.records.of('TransientFailure');
    expect(tf[0]!.response.content).toBe('KumoMTA internal: no sources for example.com pool=`unspecified` are eligible for selection at this time');
    expect(tf[0]!.egressPool).toBe('unspecified');
    expect(e.factory.connects).toEqual([]);
  });
});
