import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { adminOpsFor } from '../../src/daemon/admin-adapter.ts';
import { MemoryLog } from '../../src/kumo/diagnostics.ts';
import { pushMessage } from '../../src/message/lua-binding.ts';
import { HttpListener, parseHttpListenerConfig } from '../../src/server/http/listener.ts';
import { ListenerMetrics } from '../../src/server/metrics/listener-metrics.ts';
import { ListenerPolicy } from '../../src/server/policy-events.ts';
import { newLua } from '../helpers/lua.ts';
import { luaQueueConfig, makeMessage, makeTestEngine, quiesce, until, type TestEngine } from '../helpers/engine.ts';

const LIMITED_RQ = 'unspecified->limited.example@lua:make.webhook';

let engine: TestEngine;
let listener: HttpListener;
let url: string;

/** The real HTTP listener, on the engine's virtual clock, with the adapter as its AdminOps. */
async function startListener(e: TestEngine): Promise<HttpListener> {
  const lua = newLua();
  return HttpListener.start(parseHttpListenerConfig({ listen: '127.0.0.1:0', hostname: 'mx.test.example' }), {
    events: lua.ctx.events,
    clock: e.clock,
    log: new MemoryLog(),
    policy: new ListenerPolicy(lua.ctx.events, pushMessage),
    listenerMetrics: new ListenerMetrics(),
    admin: adminOpsFor(e.manager),
  });
}

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> & Record<string, unknown>[] };
};

beforeEach(async () => {
  engine = await makeTestEngine({
    queueConfig: () => luaQueueConfig({}, { retry_interval: '2m' }),
    pathConfig: { connection_limit: 1 },
  });
  engine.sink.respond = () => 451;
  listener = await startListener(engine);
  url = listener.url;
});

afterEach(async () => {
  await listener.close();
  await engine.close();
});

/** Two messages parked in example.com, one in t1@other.example (each after one 451). */
async function parkThree() {
  const e = engine;
  const a = makeMessage('a@example.com', { x_k: 'a' }, e.clock);
  const b = makeMessage('b@example.com', {}, e.clock);
  const c = makeMessage('c@other.example', { tenant: 't1' }, e.clock);
  for (const m of [a, b, c]) await e.manager.insert(m);
  await until(() => e.records.of('TransientFailure').length === 3, 'three parked');
  await quiesce();
  expect(e.manager.admin.scheduledCountTotal()).toBe(3);
  return { a, b, c };
}

describe('adminOpsFor behind the real HTTP admin API', () => {
  it('inspect-sched-q lists parked messages with due, attempts, config and counts; limit and want_body apply; unknown queue is 404', async () => {
    const { a, b } = await parkThree();
    const r = await call('GET', '/api/admin/inspect-sched-q/v1?queue_name=example.com&want_body=true');
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({
      queue_name: 'example.com', num_scheduled: 2, delayed_metric: 2,
      now: '2026-01-01T00:00:00Z', last_changed: '2026-01-01T00:00:00Z',
      queue_config: { retry_interval: '2m' },
    });
    const messages = body.messages as { id: string; message: Record<string, unknown> }[];
    expect(messages.map((m) => m.id).sort()).toEqual([a.id, b.id].sort());
    const first = messages.find((m) => m.id === a.id)!.message;
    expect(first).toMatchObject({ sender: 'sender@example.com', recipient: 'a@example.com', meta: { x_k: 'a' }, due: '2026-01-01T00:02:00Z', num_attempts: 1 });
    expect(first.data).toContain('Subject: test');

    const limited = (await call('GET', '/api/admin/inspect-sched-q/v1?queue_name=example.com&limit=1')).json();
    expect(limited.messages).toHaveLength(1);
    expect(limited.num_scheduled).toBe(2);
    expect(((limited.messages as { message: { data: unknown } }[])[0]!.message.data)).toBeNull();

    const missing = await call('GET', '/api/admin/inspect-sched-q/v1?queue_name=nope.example');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('no such queue nope.example');
  });

  it('inspect-sched-q reloads messages the engine released from memory (shrink policy)', async () => {
    const { a } = await parkThree();
    // Drop the in-memory copies as ShrinkDataAndMeta would; the index entries stay authoritative
    // for attempts (restart enumeration keeps them there, not in the spool row).
    for (const entry of engine.manager.scheduled.get('example.com')!.parked) {
      entry.msg = null;
      entry.attempts = 4;
    }
    const body = (await call('GET', '/api/admin/inspect-sched-q/v1?queue_name=example.com')).json();
    const msg = (body.messages as { id: string; message: Record<string, unknown> }[]).find((m) => m.id === a.id)!.message;
    expect(msg).toMatchObject({ recipient: 'a@example.com', meta: { x_k: 'a' }, due: '2026-01-01T00:02:00Z', num_attempts: 4 });
  });

  it('suspend: POST stores an engine rule that holds back the queue, GET lists it, DELETE resumes', async () => {
    const e = engine;
    const created = await call('POST', '/api/admin/suspend/v1', { domain: 'example.com', reason: 'maintenance', duration: '10m' });
    expect(created.status).toBe(200);
    const id = created.json().id as string;
    expect(e.manager.rules.matchSuspend('example.com', e.clock.now())?.id).toBe(id);
    expect(e.manager.rules.matchSuspend('other.example', e.clock.now())).toBeNull();

    e.sink.respond = () => 200;
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    const [tf] = e.records.of('TransientFailure');
    expect(tf!.response.content).toBe('KumoMTA internal: scheduled queue is suspended: maintenance');
    expect(e.sink.requests).toHaveLength(0);

    expect((await call('GET', '/api/admin/suspend/v1')).json()).toEqual([
      { id, campaign: null, tenant: null, domain: 'example.com', reason: 'maintenance', duration: '10m' },
    ]);
    expect((await call('DELETE', '/api/admin/suspend/v1', { id })).status).toBe(200);
    expect(e.manager.rules.matchSuspend('example.com', e.clock.now())).toBeNull();
    const again = await call('DELETE', '/api/admin/suspend/v1', { id });
    expect(again.status).toBe(404);
    expect(again.text).toContain(`suspend entry ${id} not found`);
  });

  it('bounce: POST answers at once, then sweeps matching parked messages; GET shows the per-queue counts', async () => {
    const e = engine;
    const { c } = await parkThree();
    const created = await call('POST', '/api/admin/bounce/v1', { tenant: 't1', reason: 'cleanup', duration: '1h' });
    expect(created.json()).toEqual({ id: expect.any(String), bounced: {}, total_bounced: 0 });
    const id = created.json().id as string;
    await until(() => e.records.of('AdminBounce').length === 1, 'sweep');
    expect(e.records.of('AdminBounce')[0]!.message!.id).toBe(c.id);
    expect(e.manager.admin.scheduledCount('t1@other.example')).toBe(0);
    expect(e.manager.admin.scheduledCount('example.com')).toBe(2);

    // New arrivals matching the rule are bounced as well.
    await e.manager.insert(makeMessage('d@other.example', { tenant: 't1' }, e.clock));
    const list = (await call('GET', '/api/admin/bounce/v1')).json();
    expect(list).toEqual([{
      id, campaign: null, tenant: 't1', domain: null, routing_domain: null, reason: 'cleanup', duration: '1h',
      bounced: { 't1@other.example': 2 }, total_bounced: 2,
    }]);
    expect((await call('DELETE', '/api/admin/bounce/v1', { id })).status).toBe(200);
    expect((await call('DELETE', '/api/admin/bounce/v1', { id })).status).toBe(404);
    expect(e.manager.rules.matchBounce('t1@other.example', e.clock.now())).toBeNull();
  });

  it('bounce with queue_names and suppress_logging deletes without a record; an expired rule still gets an id', async () => {
    const e = engine;
    await parkThree();
    const created = await call('POST', '/api/admin/bounce/v1', { queue_names: ['example.com'], reason: 'quiet', suppress_logging: true });
    expect(created.status).toBe(200);
    await until(() => e.manager.admin.scheduledCount('example.com') === 0, 'sweep');
    expect(e.records.of('AdminBounce')).toHaveLength(0);
    expect(e.manager.admin.scheduledCount('t1@other.example')).toBe(1);
    const past = await call('POST', '/api/admin/bounce/v1', { domain: 'x.example', reason: 'old', expires: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(200);
    expect(typeof past.json().id).toBe('string');
    expect((await call('GET', '/api/admin/bounce/v1')).json()).toHaveLength(1);
  });

  it('ready-queue suspension round trip and ready-q-states for a connection-limited ready queue', async () => {
    const e = engine;
    // Another holder owns the only connection lease of limited.example's ready queue.
    expect(e.manager.leases.tryAcquire(`kumomta.connection_limit.${LIMITED_RQ}`, 1)).toBe(true);
    const waiting = makeMessage('r@limited.example', { x_k: 'ready' }, e.clock);
    await e.manager.insert(waiting);
    await quiesce();
    const states = (await call('GET', '/api/admin/ready-q-states/v1')).json();
    expect(states).toEqual({
      states_by_ready_queue: {
        [LIMITED_RQ]: { connection_limited: { context: `TooManyLeases for kumomta.connection_limit.${LIMITED_RQ}`, since: '2026-01-01T00:00:00Z' } },
      },
    });

    // Only the spool knows a ready-queue message from outside the engine.
    await e.spool.flush();
    const inspected = await call('GET', `/api/admin/inspect-message/v1?id=${waiting.id}&want_body=true`);
    expect(inspected.status).toBe(200);
    expect(inspected.json()).toMatchObject({ id: waiting.id, message: { recipient: 'r@limited.example', meta: { x_k: 'ready' }, num_attempts: 0 } });
    expect(inspected.json().message).toHaveProperty('data', expect.stringContaining('Subject: test'));

    const created = await call('POST', '/api/admin/suspend-ready-q/v1', { name: LIMITED_RQ, reason: 'pause', duration: '30m' });
    const id = created.json().id as string;
    expect(e.manager.rules.readyQueueSuspension(LIMITED_RQ, e.clock.now())?.id).toBe(id);
    expect((await call('GET', '/api/admin/suspend-ready-q/v1')).json()).toEqual([
      { id, name: LIMITED_RQ, reason: 'pause', duration: '30m', expires: '2026-01-01T00:30:00Z' },
    ]);
    expect((await call('DELETE', '/api/admin/suspend-ready-q/v1', { id })).status).toBe(200);
    expect(e.manager.rules.readyQueueSuspension(LIMITED_RQ, e.clock.now())).toBeNull();
    expect((await call('DELETE', '/api/admin/suspend-ready-q/v1', { id })).status).toBe(404);
  });

  it('inspect-message finds parked messages in memory with their current attempts, and 404s unknown ids', async () => {
    const { b } = await parkThree();
    const r = await call('GET', `/api/admin/inspect-message/v1?id=${b.id}`);
    expect(r.json()).toMatchObject({ id: b.id, message: { recipient: 'b@example.com', due: '2026-01-01T00:02:00Z', num_attempts: 1, data: null } });
    const unknown = await call('GET', '/api/admin/inspect-message/v1?id=00000000000011f0800000000000abcd');
    expect(unknown.status).toBe(404);
  });
});
