import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';
import { LISTENER_METRICS, METRICS_SOURCES } from '../../src/server/ports.ts';
import { ListenerMetrics } from '../../src/server/metrics/listener-metrics.ts';

describe('kumo.prometheus_metrics (§3.13 table)', () => {
  it('returns the listener metrics and every registered source as a table', async () => {
    const t = newLua();
    const listeners = new ListenerMetrics();
    listeners.received('esmtp_listener', '127.0.0.1:2525');
    t.ctx.provide(LISTENER_METRICS, listeners);
    t.ctx.provide(METRICS_SOURCES, [
      { collect: () => [{ name: 'scheduled_count', help: 'messages in scheduled queues\nmore', type: 'gauge', series: [{ labels: {}, value: 7 }] }] },
    ]);
    const got = (await t.eval('return kumo.prometheus_metrics()')) as Record<string, { help: string; type: string; value: unknown }>;
    expect(got.scheduled_count).toEqual({ help: 'messages in scheduled queues', type: 'gauge', value: 7 });
    expect(got.total_messages_received).toEqual({
      help: 'total number of messages received',
      type: 'counter',
      value: { service: { esmtp_listener: 1, 'esmtp_listener:127.0.0.1:2525': 1 } },
    });
  });

  it('is a function (not the "not provided" stub) and reads fresh values on each call', async () => {
    const t = newLua();
    let n = 1;
    t.ctx.provide(METRICS_SOURCES, [{ collect: () => [{ name: 'ready_count', help: 'h', type: 'gauge', series: [{ labels: {}, value: n++ }] }] }]);
    expect(await t.eval('local a = kumo.prometheus_metrics() local b = kumo.prometheus_metrics() return { a.ready_count.value, b.ready_count.value }')).toEqual([1, 2]);
  });
});
