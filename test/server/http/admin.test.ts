import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { Message } from '../../../src/message/message.ts';
import type { AdminBounceEntry, AdminOps, AdminSuspendEntry, ReadyQueueState, ReadyQueueSuspendEntry } from '../../../src/server/ports.ts';
import { formatHumantime } from '../../../src/server/http/admin.ts';
import { startHttp, type HttpFixture } from './setup.ts';

/** In-memory AdminOps: only to shape-test the HTTP layer. */
class FakeAdmin implements AdminOps {
  bounces: AdminBounceEntry[] = [];
  suspends: AdminSuspendEntry[] = [];
  ready: ReadyQueueSuspendEntry[] = [];
  messages = new Map<string, Message>();
  private seq = 0;
  addBounce(r: Parameters<AdminOps['addBounce']>[0]) {
    const id = `b-${++this.seq}`;
    this.bounces.push({ id, criteria: r.criteria, reason: r.reason, expiresMs: r.expiresMs, bounced: new Map([['x@example.com', 2]]), totalBounced: 2 });
    return { id };
  }
  listBounces() { return this.bounces; }
  deleteBounce(id: string) { const n = this.bounces.length; this.bounces = this.bounces.filter((b) => b.id !== id); return n !== this.bounces.length; }
  addSuspend(r: Parameters<AdminOps['addSuspend']>[0]) { const id = `s-${++this.seq}`; this.suspends.push({ id, ...r }); return { id }; }
  listSuspends() { return this.suspends; }
  deleteSuspend(id: string) { const n = this.suspends.length; this.suspends = this.suspends.filter((b) => b.id !== id); return n !== this.suspends.length; }
  suspendReadyQueue(r: Parameters<AdminOps['suspendReadyQueue']>[0]) { const id = `r-${++this.seq}`; this.ready.push({ id, ...r }); return { id }; }
  listReadyQueueSuspensions() { return this.ready; }
  deleteReadyQueueSuspension(id: string) { const n = this.ready.length; this.ready = this.ready.filter((b) => b.id !== id); return n !== this.ready.length; }
  inspectScheduledQueue(name: string) {
    if (name !== 'acme@example.com') return null;
    return { messages: [...this.messages.values()], numScheduled: this.messages.size, queueConfig: { max_age: '7days', retry_interval: '20m' }, delayedMetric: 1, lastChangedMs: Date.UTC(2026, 0, 1) };
  }
  readyQueueStates(): Map<string, Record<string, ReadyQueueState>> {
    return new Map<string, Record<string, ReadyQueueState>>([['unspecified->example.com@smtp_client', { connection_limited: { context: 'TooManyLeases for kumomta.connection_limit.x', sinceMs: Date.UTC(2026, 0, 1) } }], ['empty', {}]]);
  }
  async inspectMessage(id: string) { return this.messages.get(id) ?? null; }
  rebinds: Parameters<AdminOps['rebind']>[0][] = [];
  async rebind(r: Parameters<AdminOps['rebind']>[0]) { this.rebinds.push(r); return 1; }
}

let fx: HttpFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const send = (method: string, url: string, body?: unknown) =>
  fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

describe('admin endpoints', () => {
  it('bounce: POST returns the id with empty counts, GET lists with remaining duration, DELETE removes', async () => {
    const admin = new FakeAdmin();
    fx = await startHttp({ admin });
    const now = Date.now();
    const res = await send('POST', fx.url + '/api/admin/bounce/v1', { domain: 'example.com', tenant: 'acme', reason: 'cleanup', duration: '10m' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'b-1', bounced: {}, total_bounced: 0 });
    const rule = admin.bounces[0]!;
    expect(rule.criteria).toEqual({ campaign: null, tenant: 'acme', domain: 'example.com', routingDomain: null, queueNames: [] });
    expect(rule.expiresMs - now).toBeGreaterThan(9 * 60_000);
    expect(rule.expiresMs - now).toBeLessThanOrEqual(10 * 60_000 + 1000);

    const list = (await (await fetch(fx.url + '/api/admin/bounce/v1')).json()) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: 'b-1', campaign: null, tenant: 'acme', domain: 'example.com', routing_domain: null, reason: 'cleanup', bounced: { 'x@example.com': 2 }, total_bounced: 2 });
    expect(list[0]!.duration).toMatch(/^9m 5\ds/);

    const del = await send('DELETE', fx.url + '/api/admin/bounce/v1', { id: 'b-1' });
    expect(await del.text()).toBe('removed b-1');
    const again = await send('DELETE', fx.url + '/api/admin/bounce/v1', { id: 'b-1' });
    expect(again.status).toBe(404);
    expect(await again.text()).toBe('bounce entry b-1 not found');
  });

  it('bounce: reason is required; expires wins over duration; bad durations are named', async () => {
    const admin = new FakeAdmin();
    fx = await startHttp({ admin });
    const missing = await send('POST', fx.url + '/api/admin/bounce/v1', { domain: 'x' });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('Error: reason: missing field');
    const bad = await send('POST', fx.url + '/api/admin/bounce/v1', { reason: 'r', duration: 'soon' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^Error: duration: /);
    await send('POST', fx.url + '/api/admin/bounce/v1', { reason: 'r', duration: '1m', expires: '2030-01-01T00:00:00Z' });
    expect(admin.bounces[0]!.expiresMs).toBe(Date.UTC(2030, 0, 1));
  });

  it('suspend and suspend-ready-q: POST/GET/DELETE shapes', async () => {
    const admin = new FakeAdmin();
    fx = await startHttp({ admin });
    const s = await send('POST', fx.url + '/api/admin/suspend/v1', { campaign: 'c', reason: 'maintenance' });
    expect(await s.json()).toEqual({ id: 's-1' });
    const list = (await (await fetch(fx.url + '/api/admin/suspend/v1')).json()) as Record<string, unknown>[];
    expect(Object.keys(list[0]!)).toEqual(['id', 'campaign', 'tenant', 'domain', 'reason', 'duration']);
    expect(list[0]).toMatchObject({ id: 's-1', campaign: 'c', tenant: null, domain: null, reason: 'maintenance' });
    expect(list[0]!.duration).toMatch(/^4m 5\ds/);
    const routing = await send('POST', fx.url + '/api/admin/suspend/v1', { routing_domain: 'x', reason: 'r' });
    expect(routing.status).toBe(400);
    expect(await routing.text()).toBe('Error: routing_domain: unknown field');
    expect(await (await send('DELETE', fx.url + '/api/admin/suspend/v1', { id: 'nope' })).text()).toBe('suspend entry nope not found');

    const r = await send('POST', fx.url + '/api/admin/suspend-ready-q/v1', { name: 'unspecified->example.com@smtp_client', reason: 'r', expires: '2030-01-01T00:00:00Z' });
    expect(await r.json()).toEqual({ id: 'r-2' });
    const rl = (await (await fetch(fx.url + '/api/admin/suspend-ready-q/v1')).json()) as Record<string, unknown>[];
    expect(rl[0]).toMatchObject({ id: 'r-2', name: 'unspecified->example.com@smtp_client', reason: 'r', expires: '2030-01-01T00:00:00Z' });
    expect(await (await send('DELETE', fx.url + '/api/admin/suspend-ready-q/v1', { id: 'r-2' })).text()).toBe('removed r-2');
  });

  it('inspect-sched-q, inspect-message and ready-q-states', async () => {
    const admin = new FakeAdmin();
    const msg = new Message({ sender: 's@x.example', recipients: ['r@example.com'], meta: { tenant: 'acme' }, data: Buffer.from('Subject: hi\r\n\r\nbody\r\n'), numAttempts: 2 });
    msg.due = Date.UTC(2026, 0, 2);
    admin.messages.set(msg.id, msg);
    fx = await startHttp({ admin });

    const missing = await fetch(fx.url + '/api/admin/inspect-sched-q/v1?queue_name=nope');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('Error: no such queue nope');

    const q = (await (await fetch(fx.url + '/api/admin/inspect-sched-q/v1?queue_name=acme@example.com&want_body=true')).json()) as Record<string, unknown>;
    expect(q).toMatchObject({
      queue_name: 'acme@example.com', num_scheduled: 1, delayed_metric: 1, queue_config: { max_age: '7days' }, last_changed: '2026-01-01T00:00:00Z',
      messages: [{ id: msg.id, message: { sender: 's@x.example', recipient: 'r@example.com', meta: { tenant: 'acme' }, data: 'Subject: hi\r\n\r\nbody\r\n', due: '2026-01-02T00:00:00Z', num_attempts: 2 } }],
    });
    const noBody = (await (await fetch(fx.url + '/api/admin/inspect-sched-q/v1?queue_name=acme@example.com&limit=0')).json()) as { messages: unknown[] };
    expect(noBody.messages).toEqual([]);

    const m = (await (await fetch(fx.url + `/api/admin/inspect-message/v1?id=${msg.id}`)).json()) as { id: string; message: { data: unknown } };
    expect(m.id).toBe(msg.id);
    expect(m.message.data).toBeNull();
    expect((await fetch(fx.url + '/api/admin/inspect-message/v1?id=0000')).status).toBe(404);

    const states = await (await fetch(fx.url + '/api/admin/ready-q-states/v1')).json();
    expect(states).toEqual({
      states_by_ready_queue: {
        'unspecified->example.com@smtp_client': { connection_limited: { context: 'TooManyLeases for kumomta.connection_limit.x', since: '2026-01-01T00:00:00Z' } },
      },
    });
  });

  it('rebind: POST passes criteria, data and flags (defaults false); bad fields are 400', async () => {
    const admin = new FakeAdmin();
    fx = await startHttp({ admin });
    const res = await send('POST', fx.url + '/api/admin/rebind/v1', { domain: 'example.com', reason: 'move', data: { queue: 'elsewhere' }, always_flush: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(admin.rebinds).toEqual([{
      criteria: { campaign: null, tenant: null, domain: 'example.com', routingDomain: null, queueNames: [] },
      reason: 'move', data: { queue: 'elsewhere' }, alwaysFlush: true, suppressLogging: false, triggerRebindEvent: false,
    }]);
    expect((await send('POST', fx.url + '/api/admin/rebind/v1', { reason: 'x', data: { n: 1 } })).status).toBe(400);
    expect((await send('POST', fx.url + '/api/admin/rebind/v1', { data: {} })).status).toBe(400);
    expect((await send('POST', fx.url + '/api/admin/rebind/v1', { reason: 'x', nope: 1 })).status).toBe(400);
    expect(admin.rebinds.length).toBe(1);
  });

  it('503 when no queue engine is wired', async () => {
    fx = await startHttp();
    const res = await fetch(fx.url + '/api/admin/bounce/v1');
    expect(res.status).toBe(503);
  });

  it('formats remaining durations like humantime', () => {
    expect(formatHumantime(0)).toBe('0s');
    expect(formatHumantime(299_998)).toBe('4m 59s 998ms');
    expect(formatHumantime(2 * 86_400_000 + 3_600_000)).toBe('2days 1h');
  });
});
