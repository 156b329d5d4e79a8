import { afterEach, describe, expect, it } from 'vitest';
import { advance, luaQueueConfig, makeMessage, makeTestEngine, quiesce, until, type TestEngine } from '../helpers/engine.ts';

let engine: TestEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

const RQ = 'unspecified->example.com@lua:make.webhook';

describe('custom_lua delivery', () => {
  it('send delivers: Delivery record with the Lua fields, message removed, close at idle', async () => {
    const e = (engine = await makeTestEngine());
    const msg = makeMessage('rcpt@example.com', { tenant: 'acme', campaign: 'spring' }, e.clock);
    await e.manager.insert(msg);
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    const [ev] = e.records.of('Delivery');
    expect(ev).toMatchObject({
      message: msg,
      response: { code: 200, enhanced_code: null, content: '200 accepted', command: null },
      site: 'unspecified->example.com@lua:make.webhook',
      peerAddress: { name: 'Lua via make.webhook', addr: '0.0.0.0' },
      egressPool: 'unspecified',
      egressSource: 'unspecified',
      deliveryProtocol: 'Lua',
      numAttempts: 0,
    });
    expect(ev!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.factory.connects).toEqual([{ constructorName: 'make.webhook', domain: 'example.com', tenant: 'acme', campaign: 'spring', options: { batchSize: 1 } }]);
    expect(e.sink.ids()).toEqual([msg.id]);
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
    expect(e.factory.closes).toBe(0);
    await advance(e.clock, 5000);
    expect(e.factory.closes).toBe(1);
    expect(e.manager.metrics.totalMessagesDelivered.get(`lua:${RQ}`)).toBe(1);
    expect(e.manager.metrics.totalMessagesDelivered.get('lua')).toBe(1);
    expect(e.manager.metrics.connectionCount.get(`lua:${RQ}`)).toBe(0);
    expect(e.queueConfigCalls).toEqual([['example.com', 'acme', 'spring', 'null']]);
    expect(e.pathConfigCalls).toEqual([['example.com', 'unspecified', 'example.com']]);
  });

  it('send_batch min 10 / max 100 / latency 15s on one connection: 20 arrivals, exactly 2 batches', async () => {
    const e = (engine = await makeTestEngine({
      queueConfig: () => luaQueueConfig({ batch_size: 100, min_batch_size: 10, max_batch_latency: '15s' }),
      pathConfig: { connection_limit: 1, idle_timeout: '60s' },
    }));
    for (let i = 0; i < 20; i++) {
      await e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock));
      await quiesce(2);
      await advance(e.clock, 1000);
    }
    await until(() => e.records.of('Delivery').length === 20, '20 deliveries');
    expect(e.sink.requests.length).toBe(2);
    expect(e.factory.batchSizes).toEqual([10, 10]);
    expect(e.factory.connects.length).toBe(1);
    expect(e.factory.connects[0]!.options).toEqual({ batchSize: 100 });
  });

  it('a partial batch is sent when max_batch_latency passes', async () => {
    const e = (engine = await makeTestEngine({
      queueConfig: () => luaQueueConfig({ batch_size: 100, min_batch_size: 10, max_batch_latency: '15s' }),
      pathConfig: { connection_limit: 1, idle_timeout: '60s' },
    }));
    await Promise.all(Array.from({ length: 5 }, (_, i) => e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock))));
    await quiesce();
    await advance(e.clock, 14_999);
    expect(e.sink.requests.length).toBe(0);
    await advance(e.clock, 1);
    await until(() => e.records.of('Delivery').length === 5, 'partial batch');
    expect(e.factory.batchSizes).toEqual([5]);
  });

  it('idle_timeout caps the batch latency (measured from the start of the wait)', async () => {
    const e = (engine = await makeTestEngine({
      queueConfig: () => luaQueueConfig({ batch_size: 100, min_batch_size: 10, max_batch_latency: '15s' }),
      pathConfig: { connection_limit: 1 },
    }));
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await quiesce();
    await advance(e.clock, 4_999);
    expect(e.sink.requests.length).toBe(0);
    await advance(e.clock, 1);
    await until(() => e.records.of('Delivery').length === 1, 'sent at idle timeout');
  });

  it('4xx is a TransientFailure retried with the spec spacing until delivered', async () => {
    const e = (engine = await makeTestEngine({ queueConfig: () => luaQueueConfig({}, { retry_interval: '1m', max_retry_interval: '3m' }) }));
    let calls = 0;
    e.sink.respond = () => (++calls <= 4 ? 451 : 200);
    const start = e.clock.now();
    const msg = makeMessage('r@example.com', {}, e.clock);
    await e.manager.insert(msg);
    await until(() => e.records.of('TransientFailure').length === 1, 'first failure');
    for (let i = 0; i < 12; i++) await advance(e.clock, 60_000);
    await until(() => e.records.of('Delivery').length === 1, 'delivery after retries');
    const tf = e.records.of('TransientFailure');
    expect(tf.map((r) => r.response)).toEqual(Array(4).fill({ code: 451, enhanced_code: null, content: 'status 451', command: null }));
    expect(tf.map((r) => r.numAttempts)).toEqual([0, 1, 2, 3]);
    expect(tf[0]!.peerAddress).toEqual({ name: 'Lua via make.webhook', addr: '0.0.0.0' });
    // delays 60, 120, 180 (capped), 180 s; jitter is 0 with random 0.5
    expect(tf.map((r) => (r.timestampMs! - start) / 1000)).toEqual([0, 60, 180, 360]);
    const delivery = e.records.of('Delivery')[0]!;
    expect((delivery.timestampMs! - start) / 1000).toBe(540);
    expect(delivery.numAttempts).toBe(4);
    expect(e.records.of('Delayed')).toEqual([]);
    expect(e.manager.metrics.totalMessagesTransfail.get('lua')).toBe(4);
  });

  it('each message of a rejected batch is requeued with its own jitter', async () => {
    const randoms = [0.0, 0.99, 0.5, 0.5];
    const e = (engine = await makeTestEngine({
      queueConfig: () => luaQueueConfig({ batch_size: 2, min_batch_size: 2, max_batch_latency: '10s' }),
      pathConfig: { connection_limit: 1 },
      manager: { random: () => randoms.shift() ?? 0.5 },
    }));
    e.sink.respond = () => 450;
    await Promise.all([e.manager.insert(makeMessage('a@example.com', {}, e.clock)), e.manager.insert(makeMessage('b@example.com', {}, e.clock))]);
    await until(() => e.records.of('TransientFailure').length === 2, 'batch failure');
    await quiesce();
    const info = e.manager.admin.inspectScheduledQueue('example.com')!;
    const dues = (info.messages as { message: { due: string; num_attempts: number } }[]).map((m) => Date.parse(m.message.due) - e.clock.now());
    expect(dues.sort((a, b) => a - b)).toEqual([1_170_000, 1_229_000]);
    expect(e.factory.batchSizes).toEqual([2]);
  });

  it('5xx (and other non-4xx codes) bounce once and are never retried', async () => {
    const e = (engine = await makeTestEngine());
    e.sink.respond = () => 550;
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('Bounce').length === 1, 'bounce');
    expect(e.records.of('Bounce')[0]!.response).toEqual({ code: 550, enhanced_code: null, content: 'status 550', command: null });
    await advance(e.clock, 3_600_000, 60_000);
    expect(e.sink.requests.length).toBe(1);
    expect(e.records.events.map((r) => r.type)).toEqual(['Bounce']);
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
    expect(e.manager.metrics.totalMessagesFail.get('lua')).toBe(1);
  });

  it('a 2xx/3xx reject code is a Bounce too', async () => {
    const e = (engine = await makeTestEngine());
    e.sink.respond = () => 302;
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('Bounce').length === 1, 'bounce');
  });

  it.each([
    [399, 'Bounce'],
    [400, 'TransientFailure'],
    [499, 'TransientFailure'],
    [500, 'Bounce'],
  ] as const)('the 4xx boundary: reject code %i is a %s', async (code, type) => {
    const e = (engine = await makeTestEngine());
    e.sink.respond = () => code;
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.events.length === 1, 'one outcome');
    expect(e.records.events.map((r) => [r.type, r.response?.code])).toEqual([[type, code]]);
  });

  it('421 is a TransientFailure that also closes the connection', async () => {
    const e = (engine = await makeTestEngine());
    e.sink.respond = () => 421;
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    await until(() => e.factory.closes === 1, 'close after 421');
    expect(e.records.of('TransientFailure')[0]!.response.code).toBe(421);
    expect(e.spool.count()).toBe(1);
  });

  it('an error escaping send closes the connection first, then TransientFailure 400 with no peer', async () => {
    const e = (engine = await makeTestEngine());
    e.factory.throwInSend = 'runtime error: [string "init.lua"]:12: boom';
    let closesAtLog = -1;
    const log = e.records.log.bind(e.records);
    e.records.log = async (ev) => {
      if (ev.type === 'TransientFailure') closesAtLog = e.factory.closes;
      return log(ev);
    };
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    const ev = e.records.of('TransientFailure')[0]!;
    expect(ev.response).toEqual({ code: 400, enhanced_code: null, content: 'KumoMTA internal: error in deliver_message: sender:send method failed: runtime error: [string "init.lua"]:12: boom', command: null });
    expect(ev.peerAddress).toBeNull();
    expect(ev.deliveryProtocol).toBe('Lua');
    expect(closesAtLog).toBe(1);
    await quiesce();
    const info = e.manager.admin.inspectScheduledQueue('example.com')!;
    expect((info.messages as { message: { num_attempts: number } }[])[0]!.message.num_attempts).toBe(1);
  });

  it('a constructor failure: TransientFailure 400, requeued with increment, no close', async () => {
    const e = (engine = await makeTestEngine());
    e.factory.failConstructor = 'no such endpoint';
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    const ev = e.records.of('TransientFailure')[0]!;
    expect(ev.response.content).toBe('KumoMTA internal: failed to connect to any candidate hosts: no such endpoint');
    expect(ev.response.code).toBe(400);
    expect(ev.peerAddress).toBeNull();
    expect(ev.site).toBe(RQ);
    expect(e.factory.closes).toBe(0);
    expect(e.manager.metrics.connectionCount.get(`lua:${RQ}`)).toBe(0);
    expect(e.manager.metrics.totalConnectionCount.get(`lua:${RQ}`)).toBe(1);
    e.factory.failConstructor = null;
    await advance(e.clock, 1_230_000, 10_000);
    await until(() => e.records.of('Delivery').length === 1, 'retry succeeds');
    expect(e.records.of('Delivery')[0]!.numAttempts).toBe(1);
  });

  it('max_deliveries_per_connection=2 with connection_limit=1: 5 messages ⇒ 3 constructor calls', async () => {
    const e = (engine = await makeTestEngine({ pathConfig: { connection_limit: 1, max_deliveries_per_connection: 2 } }));
    await Promise.all(Array.from({ length: 5 }, (_, i) => e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock))));
    await until(() => e.records.of('Delivery').length === 5, 'deliveries');
    await advance(e.clock, 6000);
    expect(e.factory.connects.length).toBe(3);
    expect(e.factory.closes).toBe(3);
  });

  it('max_ready=1 under load: Delayed ReadyQueueWasFull, no increment, no TransientFailure', async () => {
    const e = (engine = await makeTestEngine({ pathConfig: { connection_limit: 1, max_ready: 1 } }));
    await Promise.all(Array.from({ length: 5 }, (_, i) => e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock))));
    const delayed = e.records.of('Delayed');
    expect(delayed.length).toBe(3);
    for (const d of delayed) {
      expect(d.response).toEqual({ code: 400, enhanced_code: null, content: 'Context: Received, ReadyQueueWasFull. Next due in 30s at 2026-01-01T00:00:30Z', command: null });
      expect(d.numAttempts).toBe(0);
    }
    expect(e.manager.metrics.delayedDueToReadyQueueFull.get('example.com')).toBe(3);
    expect(e.manager.metrics.readyFull.get(`lua:${RQ}`)).toBe(3);
    await until(() => e.records.of('Delivery').length === 2, 'first two');
    for (let i = 0; i < 10 && e.records.of('Delivery').length < 5; i++) await advance(e.clock, 30_000);
    expect(e.records.of('Delivery').length).toBe(5);
    expect(e.records.of('Delayed').slice(3).every((d) => d.response.content.startsWith('Context: DueTimeWasReached, ReadyQueueWasFull.'))).toBe(true);
    expect(e.records.of('TransientFailure')).toEqual([]);
    expect(e.records.of('Delivery').every((r) => r.numAttempts === 0)).toBe(true);
  });

  it('expires at the attempt the spec says, with the exact text', async () => {
    const e = (engine = await makeTestEngine({ queueConfig: () => luaQueueConfig({}, { retry_interval: '1m', max_age: '10m' }) }));
    e.sink.respond = () => 451;
    const start = e.clock.now();
    await e.manager.insert(makeMessage('r@example.com', { tenant: 't' }, e.clock));
    for (let i = 0; i < 12; i++) await advance(e.clock, 60_000);
    await until(() => e.records.of('Expiration').length === 1, 'expiration');
    const exp = e.records.of('Expiration')[0]!;
    expect(e.records.of('TransientFailure').map((r) => (r.timestampMs! - start) / 1000)).toEqual([0, 60, 180, 420]);
    expect((exp.timestampMs! - start) / 1000).toBe(420);
    expect(exp.response).toEqual({ code: 551, enhanced_code: { class: 5, subject: 4, detail: 7 }, content: 'Next delivery time would be 15m after creation, which exceeds max_age=10m', command: null });
    expect(exp.numAttempts).toBe(4);
    expect(exp.site).toBe('');
    expect(exp.egressPool).toBeNull();
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
  });
});

describe('repeated connection failures', () => {
  it('bulk-delays the ready queue once the failure count passes the threshold', async () => {
    const e = (engine = await makeTestEngine({ pathConfig: { connection_limit: 1, consecutive_connection_failures_before_delay: 0 } }));
    e.factory.failConstructor = 'refused';
    await Promise.all(Array.from({ length: 3 }, (_, i) => e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock))));
    await until(() => e.records.of('TransientFailure').length === 3, 'three failures');
    const [a, b, c] = e.records.of('TransientFailure');
    expect(a!.response.content).toBe('KumoMTA internal: failed to connect to any candidate hosts: refused');
    expect(b!.response.content).toBe('KumoMTA internal: failed to connect to any candidate hosts: refused');
    expect(c).toMatchObject({
      response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 1 }, content: 'bulk delay of ready queue: too many successive connection failures where there was no answer from any hosts listed in MX' },
      site: RQ,
      deliveryProtocol: null,
    });
    expect(e.factory.connects.length).toBe(2);
  });
});
