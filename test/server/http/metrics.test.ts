import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { familyFromEntries, HistogramFamily, SeriesFamily } from '../../../src/server/metrics/families.ts';
import type { MetricFamily, MetricsSource } from '../../../src/server/ports.ts';
import { postJson, startHttp, type HttpFixture } from './setup.ts';

let fx: HttpFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** What the queue engine would report. */
function engineSource(): MetricsSource & { latency: HistogramFamily; delivered: SeriesFamily } {
  const latency = new HistogramFamily('deliver_message_latency_rollup', 'how long a deliver_message call takes for a given protocol', [0.1, 1]);
  const delivered = new SeriesFamily('total_messages_delivered', 'total number of messages ever delivered', 'counter');
  return {
    latency,
    delivered,
    collect(): MetricFamily[] {
      return [
        familyFromEntries('scheduled_count', 'number of messages in the scheduled queue', 'gauge', 'queue', [['acme@example.com', 3], ['webhook.log_hook', 1]]),
        { name: 'scheduled_count_total', help: 'sum over all scheduled queues', type: 'gauge', series: [{ labels: {}, value: 4 }] },
        delivered.snapshot(),
        latency.snapshot(),
        { name: 'ready_count', help: 'number of messages in the ready queue', type: 'gauge', series: [] },
      ];
    },
  };
}

describe('metrics endpoints', () => {
  it('GET /metrics renders every source in Prometheus text with KumoMTA names, labels and an optional prefix', async () => {
    const src = engineSource();
    src.delivered.inc({ service: 'lua:unspecified->webhook.log_hook@lua:make.webhook.log_hook' }, 5);
    src.delivered.inc({ service: 'lua' }, 5);
    src.latency.observe({ service: 'lua' }, 0.05);
    src.latency.observe({ service: 'lua' }, 0.5);
    src.latency.observe({ service: 'lua' }, 3);
    fx = await startHttp({ sources: [src] });
    await postJson(fx.url + '/api/inject/v1', { envelope_sender: 's@x.example', recipients: [{ email: 'r@y.example' }], content: 'Subject: x\r\n\r\nb\r\n' });

    const res = await fetch(fx.url + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE scheduled_count gauge\nscheduled_count{queue="acme@example.com"} 3\nscheduled_count{queue="webhook.log_hook"} 1');
    expect(text).toContain('scheduled_count_total 4');
    expect(text).toContain('total_messages_delivered{service="lua:unspecified->webhook.log_hook@lua:make.webhook.log_hook"} 5');
    expect(text).toContain('total_messages_received{service="http_listener"} 1');
    expect(text).toContain('# TYPE deliver_message_latency_rollup histogram');
    expect(text).toContain('deliver_message_latency_rollup_bucket{service="lua",le="0.1"} 1');
    expect(text).toContain('deliver_message_latency_rollup_bucket{service="lua",le="1"} 2');
    expect(text).toContain('deliver_message_latency_rollup_bucket{service="lua",le="+Inf"} 3');
    expect(text).toContain('deliver_message_latency_rollup_sum{service="lua"} 3.55');
    expect(text).toContain('deliver_message_latency_rollup_count{service="lua"} 3');

    const prefixed = await (await fetch(fx.url + '/metrics?prefix=kumo_')).text();
    expect(prefixed).toContain('kumo_scheduled_count{queue="acme@example.com"} 3');
    expect(prefixed).not.toMatch(/^scheduled_count/m);
  });

  it('GET /metrics.json uses KumoMTA shapes: number, single-label map, multi-label list, histogram object, null', async () => {
    const src = engineSource();
    src.latency.observe({ service: 'lua' }, 0.5);
    const multi: MetricsSource = {
      collect: () => [{ name: 'queued_count_by_provider_and_pool', help: 'scheduled + ready\nsecond line', type: 'gauge', series: [{ labels: { provider: 'p', pool: 'x' }, value: 2 }] }],
    };
    fx = await startHttp({ sources: [src, multi] });
    const json = (await (await fetch(fx.url + '/metrics.json')).json()) as Record<string, { help: string; type: string; value: unknown }>;
    expect(json.scheduled_count_total).toEqual({ help: 'sum over all scheduled queues', type: 'gauge', value: 4 });
    expect(json.scheduled_count!.value).toEqual({ queue: { 'acme@example.com': 3, 'webhook.log_hook': 1 } });
    expect(json.queued_count_by_provider_and_pool).toEqual({ help: 'scheduled + ready', type: 'gauge', value: [{ provider: 'p', pool: 'x', '@': 2 }] });
    expect(json.deliver_message_latency_rollup!.value).toEqual({ service: { lua: { count: 1, sum: 0.5, avg: 0.5, bucket: [[0.1, 0], [1, 1]] } } });
    expect(json.ready_count!.value).toBeNull();
  });
});
