/** From routing domain to MX to ready queue, with the bulk outcomes (smtp-delivery.md §1, checklist 1–20). */
import { describe, expect, it } from 'vitest';
import { advance, makeTestEngine, type TestEngine } from '../../helpers/engine.ts';
import { parseQueueConfig } from '../../../src/queue/queue-config.ts';
import { LOCAL_PATH, mail, view, waitRecords, smtpFixtures } from './engine.ts';
import { MemoryResolver } from './memory-resolver.ts';

const f = smtpFixtures();
let engine: TestEngine;

describe('MX routing', () => {
  it('resolves the domain MX; ready queue unspecified-><site>@smtp_client; MX name as peer (checklist 1)', async () => {
    const m = await f.mx();
    const resolver = new MemoryResolver({ 'example.org': [['mx1.example.org.']] }, { 'mx1.example.org': ['127.0.0.1'] });
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port }, services: { resolver } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Delivery', site: 'unspecified->mx1.example.org@smtp_client', peer: { name: 'mx1.example.org.', addr: '127.0.0.1' } });
    expect(engine.pathConfigCalls[0]).toEqual(['example.org', 'unspecified', 'mx1.example.org']);
  });

  it('routing_domain meta resolves that domain instead (checklist 2)', async () => {
    const m = await f.mx();
    const resolver = new MemoryResolver({ 'relay.example': [['mx.relay.example.']] }, { 'mx.relay.example': ['127.0.0.1'] });
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port }, services: { resolver } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock, meta: { routing_domain: 'relay.example' } }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(ev!.message!.queueName()).toBe('example.org!relay.example');
    expect(resolver.mxQueries).toEqual(['relay.example']);
  });

  it('localhost:<port> as routing domain: implicit MX, that port on every address (checklist 6, 19; rebind_port)', async () => {
    const m = await f.mx();
    engine = await f.engine(null, { smtp: {}, path: { skip_hosts: ['::/0'] } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock, meta: { routing_domain: `localhost:${m.port}` } }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Delivery', site: `unspecified->localhost:${m.port}@smtp_client`, peer: { name: 'localhost.', addr: `127.0.0.1:${m.port}` } });
  });

  it('port precedence: source remote_port over the address port over smtp_port (checklist 20)', async () => {
    const m = await f.mx();
    engine = await f.engine(null, { smtp: { mx_list: ['127.0.0.1:1'] }, path: { smtp_port: 2 }, source: { remote_port: m.port } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
  });

  it('NXDOMAIN is a retried 451 4.4.4 with an empty site (checklist 7)', async () => {
    const resolver = new MemoryResolver({ 'nx.example': { error: 'none' } });
    engine = await f.engine(null, { smtp: {}, services: { resolver } });
    const msg = mail(['a@nx.example'], { clock: engine.clock });
    await engine.manager.insert(msg);
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 451, site: '', content: 'failed to resolve queue nx.example: MX lookup for nx.example. failed after 0ns: NXDOMAIN', protocol: null });
    expect(ev!.response.enhanced_code).toEqual({ class: 4, subject: 4, detail: 4 });
    expect(msg.numAttempts).toBe(1);
    await advance(engine.clock, 120_000, 10_000);
    expect(engine.records.of('TransientFailure').length).toBeGreaterThanOrEqual(2);
  });

  it('null MX bounces everything queued with 556 5.1.10, delivery_protocol null (checklist 8, 72)', async () => {
    const resolver = new MemoryResolver({ 'null.example': [['.']] });
    engine = await f.engine(null, { smtp: {}, services: { resolver } });
    await engine.manager.insert(mail(['a@null.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 556, content: 'Recipient address has a null MX', site: 'unspecified->@smtp_client', protocol: null, peer: null });
    expect(ev!.sessionId).toBeDefined();
  });

  it('an MX host without addresses is a 451 4.4.4 (checklist 9)', async () => {
    const resolver = new MemoryResolver({ 'ghost.example': [['mx.ghost.example.']] });
    engine = await f.engine(null, { smtp: {}, services: { resolver } });
    await engine.manager.insert(mail(['a@ghost.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 451, content: "MX didn't resolve to any hosts", protocol: null });
  });

  it('loopback is prohibited by default: 550 5.4.4 for the whole site (checklist 10, 11)', async () => {
    const resolver = new MemoryResolver({ 'example.org': [['a.example.org.', 'b.example.org.']] }, { 'a.example.org': ['10.9.9.9'], 'b.example.org': ['127.0.0.1'] });
    engine = await f.engine(null, { smtp: {}, path: { prohibited_hosts: null }, services: { resolver } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 550, content: 'b.example.org/127.0.0.1 is on the list of prohibited_hosts {"0.0.0.0", "127.0.0.0/8", "::", "::1"}' });
  });

  it('skip_hosts covering every address is a 451 4.4.4 (checklist 12)', async () => {
    const resolver = new MemoryResolver({ 'example.org': [['mx.example.org.']] }, { 'mx.example.org': ['10.9.9.9'] });
    engine = await f.engine(null, { smtp: {}, path: { skip_hosts: ['10.0.0.0/8'] }, services: { resolver } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 451, content: 'KumoMTA internal: MX consisted solely of hosts on the skip_hosts list' });
  });

  it('equal mx_list labels in two domains share one ready queue and its connection (checklist 17; mx_list_refresh)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['a@one.example'], { clock: engine.clock }));
    await engine.manager.insert(mail(['b@two.example'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 2);
    expect(new Set(evs.map((e) => e.site))).toEqual(new Set([`unspecified->mx_list:${m.address}@smtp_client`]));
    expect(engine.manager.ready.queues.size).toBe(1);
    expect(m.connections).toHaveLength(1);
  });
});

describe('mx_list changes (mx_list_refresh)', () => {
  it('a changed mx_list moves new mail to a new ready queue once the queue config refreshes', async () => {
    const a = await f.mx();
    const b = await f.mx();
    let list = [a.address];
    const e = await makeTestEngine({
      queueConfig: () => parseQueueConfig({ refresh_interval: '1m', protocol: { smtp: { mx_list: list } } }),
      pathConfig: LOCAL_PATH,
    });
    try {
      await e.manager.insert(mail(['one@example.org'], { clock: e.clock }));
      await waitRecords(e, 1);
      list = [b.address];
      await advance(e.clock, 120_000, 10_000);
      await e.manager.insert(mail(['two@example.org'], { clock: e.clock }));
      const evs = await waitRecords(e, 2);
      expect(evs.map((x) => x.site)).toEqual([`unspecified->mx_list:${a.address}@smtp_client`, `unspecified->mx_list:${b.address}@smtp_client`]);
      expect([a.delivered().length, b.delivered().length]).toEqual([1, 1]);
    } finally {
      await e.close();
    }
  });
});
