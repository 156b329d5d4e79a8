/** SMTP delivery metrics under KumoMTA's names, per egress path and site (service = smtp_client:<ready queue>). */
import { describe, expect, it } from 'vitest';
import { engineMetricsSource } from '../../../src/daemon/metrics-adapter.ts';
import { renderPrometheus } from '../../../src/server/metrics/render.ts';
import { advance, type TestEngine } from '../../helpers/engine.ts';
import { mail, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();
let engine: TestEngine;

describe('smtp metrics', () => {
  it('connections, deliveries, failures and latency by ready queue and rolled up', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['ok@example.org', 'tempfail@example.org', 'permfail@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 3);
    const svc = `smtp_client:unspecified->mx_list:${m.address}@smtp_client`;
    const text = await renderPrometheus(engineMetricsSource(engine.manager, null, engine.clock).collect());
    const line = (name: string, service: string) => text.split('\n').find((l) => l.startsWith(`${name}{service="${service}"}`));
    expect(line('total_messages_delivered', svc)).toBe(`total_messages_delivered{service="${svc}"} 1`);
    expect(line('total_messages_transfail', svc)).toBe(`total_messages_transfail{service="${svc}"} 1`);
    expect(line('total_messages_fail', svc)).toBe(`total_messages_fail{service="${svc}"} 1`);
    expect(line('total_messages_delivered', 'smtp_client')).toBe('total_messages_delivered{service="smtp_client"} 1');
    expect(line('total_connection_count', svc)).toBe(`total_connection_count{service="${svc}"} 1`);
    expect(line('connection_count', svc)).toBe(`connection_count{service="${svc}"} 1`);
    expect(text).toContain(`deliver_message_latency_rollup_count{service="${svc}"} 1`);
    expect(text).toContain('deliver_message_latency_rollup_count{service="smtp_client"} 1');
    await advance(engine.clock, 6000);
    const after = await renderPrometheus(engineMetricsSource(engine.manager, null, engine.clock).collect());
    expect(after).toContain(`connection_count{service="${svc}"} 0`);
  });
});
