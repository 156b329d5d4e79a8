/**
 * policy-extras.log_hooks through the whole daemon on a VirtualClock:
 * batching on one connection, retry spacing after 503, a 404 bouncing once,
 * and an error raised inside `send` being a transient failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { advanceDaemon, injectHttp, maildirWebhookPolicy, quiesceDaemon, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const HOOK_QUEUE = 'webhook.log_hook';
/** Only Reception records reach the hook, so one injected message = one hook record. */
const RECEPTIONS_ONLY = `filter = function(msg) return msg:get_meta('log_record').type ~= 'Reception' end,`;
const ONE_CONNECTION = `
kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path { connection_limit = 1, idle_timeout = '60s' }
end)`;

let sink: WebhookSink | null = null;
let d: TestDaemon | null = null;
/** Virtual time at which each webhook request arrived. */
let arrivals: number[] = [];

afterEach(async () => {
  await d?.stop();
  await sink?.close();
  d = sink = null;
});

async function start(hookExtra: string, extra = ONE_CONNECTION, prelude = ''): Promise<TestDaemon> {
  sink = await WebhookSink.start();
  const clock = new VirtualClock();
  arrivals = [];
  sink.respondWith(() => {
    arrivals.push(clock.now());
    return { status: 200, body: 'ok' };
  });
  d = await startDaemon({ clock, policy: maildirWebhookPolicy({ webhookUrl: `${sink.url}/hook`, hookExtra, extra, prelude }) });
  return d;
}

async function inject(n: number, tag = 'm'): Promise<void> {
  const recipients = Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.net` }));
  const res = await injectHttp(d!.httpUrl!, { envelope_sender: 's@example.com', recipients, content: { subject: tag, text_body: 'x' } });
  expect(res.json).toMatchObject({ success_count: n });
}

const hookRecords = (type: string) => d!.recordsOf(type).filter((r) => r.queue === HOOK_QUEUE);
const batches = () => sink!.requests.map((r) => r.json() as { type: string; recipient: string }[]);

describe('log_hooks:new_json through the engine', () => {
  it('send delivers each record as one JSON object', async () => {
    await start(RECEPTIONS_ONLY);
    await inject(2);
    await quiesceDaemon(d!);
    expect(sink!.requests.map((r) => (r.json() as { recipient: string }).recipient).sort()).toEqual(['m0@example.net', 'm1@example.net']);
    expect(hookRecords('Delivery').map((r) => (r.response as { content: string }).content)).toEqual(['200 OK: ok', '200 OK: ok']);
  });

  it('batch_size 100 / min_batch_size 10 / max_batch_latency 15s on one connection: 20 records in exactly 2 requests', async () => {
    await start(`${RECEPTIONS_ONLY} batch_size = 100, min_batch_size = 10, max_batch_latency = '15s',`);
    await inject(10, 'a');
    await quiesceDaemon(d!);
    expect(sink!.requests).toHaveLength(1);
    await inject(10, 'b');
    await quiesceDaemon(d!);
    expect(batches().map((b) => b.length)).toEqual([10, 10]);
    expect(batches()[0]!.every((r) => r.recipient.startsWith('a'))).toBe(true);
    expect(batches()[1]!.every((r) => r.recipient.startsWith('b'))).toBe(true);
    expect(new Set(sink!.requests.map((r) => r.socketId)).size).toBe(1);
    expect(hookRecords('Delivery')).toHaveLength(20);

    // Below min_batch_size a batch waits max_batch_latency (virtual time) from when the
    // dispatcher first held one of its messages. (A wait that began empty is capped by
    // idle_timeout from its start, engine.md §4.3, so let that dispatcher retire first.)
    await advanceDaemon(d!, 61_000, 61_000);
    const tc = d!.clock.now();
    await inject(5, 'c');
    await advanceDaemon(d!, 14_000, 1000);
    expect(sink!.requests).toHaveLength(2);
    await advanceDaemon(d!, 2000, 1000);
    expect(batches().map((b) => b.length)).toEqual([10, 10, 5]);
    expect(arrivals[2]! - tc).toBe(15_000);
  });

  it('a 503 is retried on the queue schedule (1m, then 2m) and the record arrives after recovery', async () => {
    await start(`${RECEPTIONS_ONLY} queue_config = { retry_interval = '1m', max_retry_interval = '20m' },`);
    let status = 503;
    sink!.respondWith(() => {
      arrivals.push(d!.clock.now());
      return { status, body: 'down for maintenance' };
    });
    await inject(1);
    await quiesceDaemon(d!);
    expect(arrivals).toHaveLength(1);
    const t0 = arrivals[0]!;
    const [tf] = hookRecords('TransientFailure');
    expect(tf!.response).toMatchObject({ code: 451, content: '503 Service Unavailable: down for maintenance' });

    await advanceDaemon(d!, 58_000);
    expect(arrivals).toHaveLength(1);
    await advanceDaemon(d!, 4000, 1000);
    expect(arrivals).toHaveLength(2);
    // retry_interval 1m with jitter of ±1 s (min(60/20, 60) = 3 s wide).
    expect(arrivals[1]! - t0).toBeGreaterThanOrEqual(59_000);
    expect(arrivals[1]! - t0).toBeLessThanOrEqual(61_000);

    status = 200;
    await advanceDaemon(d!, 115_000);
    expect(arrivals).toHaveLength(2);
    await advanceDaemon(d!, 8000, 1000);
    expect(arrivals).toHaveLength(3);
    expect(arrivals[2]! - arrivals[1]!).toBeGreaterThanOrEqual(119_000);
    expect(arrivals[2]! - arrivals[1]!).toBeLessThanOrEqual(121_000);

    const bodies = sink!.requests.map((r) => r.json() as { id: string; type: string });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(bodies[2]!.type).toBe('Reception');
    expect(hookRecords('TransientFailure')).toHaveLength(2);
    expect(hookRecords('Delivery')).toHaveLength(1);
    expect(hookRecords('Delivery')[0]).toMatchObject({ num_attempts: 2 });
    await advanceDaemon(d!, 3600_000);
    expect(arrivals).toHaveLength(3);
  });

  it('a 404 bounces the hook message once and never retries it', async () => {
    await start(RECEPTIONS_ONLY);
    sink!.respondWith({ status: 404, body: 'no such hook' });
    await inject(1);
    await quiesceDaemon(d!);
    await advanceDaemon(d!, 6 * 3600_000, 600_000);
    expect(sink!.requests).toHaveLength(1);
    const bounces = hookRecords('Bounce');
    expect(bounces).toHaveLength(1);
    expect(bounces[0]).toMatchObject({ reception_protocol: 'LogRecord', response: { code: 500, content: '404 Not Found: no such hook' } });
    expect(hookRecords('TransientFailure')).toHaveLength(0);
    // The bounce itself is not published (loop guard): still one request.
    expect(sink!.requests).toHaveLength(1);
  });
});

describe('log_hooks:new with a constructor whose send raises', () => {
  it('the error is a transient failure; the record is delivered on the retry', async () => {
    await start(RECEPTIONS_ONLY, ONE_CONNECTION, `
local sends = 0
log_hooks:new {
  name = 'flaky',
  queue_config = { retry_interval = '1m' },
  constructor = function(domain, tenant, campaign)
    return {
      send = function(self, msg)
        sends = sends + 1
        if sends == 1 then error('boom on first send') end
        print('delivered ' .. msg:get_meta('log_record').type)
        return 'accepted by flaky'
      end,
      close = function(self) end,
    }
  end,
}`);
    await inject(1);
    await quiesceDaemon(d!);
    const flaky = (type: string) => d!.recordsOf(type).filter((r) => r.queue === 'flaky.log_hook');
    const [tf] = flaky('TransientFailure');
    expect(tf!.response).toMatchObject({ code: 400 });
    expect(String((tf!.response as { content: string }).content)).toMatch(/^KumoMTA internal: error in deliver_message: sender:send method failed: .*boom on first send/);
    expect(tf!.peer_address).toBeNull();
    expect(flaky('Delivery')).toHaveLength(1); // the Delivery record is the second record and is sent on a fresh connection
    await advanceDaemon(d!, 62_000, 1000);
    expect(flaky('Bounce')).toHaveLength(0);
    expect(flaky('Delivery').map((r) => (r.response as { content: string }).content)).toEqual(['accepted by flaky', 'accepted by flaky']);
    expect(d!.printed.sort()).toEqual(['delivered Delivery', 'delivered Reception']);
  });
});
