/** Remaining set-up and failure paths: banner timeout failover, SNI names, hang-up in DATA, bulk delay. */
import { describe, expect, it } from 'vitest';
import { until, type TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';
import { MemoryResolver } from './memory-resolver.ts';

const f = smtpFixtures();
let engine: TestEngine;

describe('edge paths', () => {
  it('a first candidate that never greets times out; the second delivers, only a Delivery is logged (checklist 23)', async () => {
    const silent = await f.raw();
    silent.greeting = '';
    const good = await f.mx();
    engine = await f.engine(null, { smtp: { mx_list: [silent.address, good.address] }, path: { banner_timeout: '10s' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await until(() => silent.connections === 1, 'connection to the silent host');
    await engine.clock.advance(10_000, 20);
    const evs = await waitRecords(engine, 1);
    expect(evs.map((e) => e.type)).toEqual(['Delivery']);
    expect(good.delivered()).toHaveLength(1);
  });

  it('the TLS server name is the MX host without the trailing dot, in A-labels (checklist 33; idna_starttls)', async () => {
    const m = await f.mx();
    const resolver = new MemoryResolver({ 'example.org': [['mx1.example.org.']], 'bücher.example': [['mx.bücher.example.']] }, { 'mx1.example.org': ['127.0.0.1'], 'mx.bücher.example': ['127.0.0.1'] });
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port, enable_tls: 'OpportunisticInsecure' }, services: { resolver } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    await engine.manager.insert(mail(['b@bücher.example'], { clock: engine.clock }));
    await waitRecords(engine, 2);
    expect(m.connections.map((c) => c.servername)).toEqual(['mx1.example.org', 'mx.xn--bcher-kva.example']);
  });

  it('a hang-up instead of the final reply is a 400 transport failure (checklist 66)', async () => {
    const r = await f.raw();
    r.script = (line) => (line === '.' ? 'HANGUP' : null);
    engine = await f.engine(null, { smtp: { mx_list: [r.address] }, path: { enable_tls: 'Disabled' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 400, command: '.\r\n', content: 'KumoMTA internal: failed to send message: Error Connection closed by peer reading response to cmd=.' });
    expect(ev!.response.enhanced_code).toBeNull();
  });

  it('successive plan failures past the threshold bulk-delay the ready queue (checklist 85)', async () => {
    engine = await f.engine(null, { smtp: { mx_list: ['127.0.0.1:1'] }, path: { consecutive_connection_failures_before_delay: 0 } });
    for (const to of ['a@example.org', 'b@example.org', 'c@example.org']) await engine.manager.insert(mail([to], { clock: engine.clock }));
    await until(() => engine!.records.events.some((e) => e.response.content.startsWith('bulk delay')), 'bulk delay');
    const bulk = engine.records.events.find((e) => e.response.content.startsWith('bulk delay'))!;
    expect(view(bulk)).toMatchObject({ type: 'TransientFailure', code: 451, protocol: null, peer: null, content: 'bulk delay of ready queue: too many successive connection failures where there was no answer from any hosts listed in MX' });
    expect(bulk.response.enhanced_code).toEqual({ class: 4, subject: 4, detail: 1 });
  });
});
