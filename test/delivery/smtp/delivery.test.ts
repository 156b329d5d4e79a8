/**
 * Delivery over real SMTP to smtp-server MXes on 127.0.0.1: records,
 * connection reuse, per-recipient outcomes, 421, failover, payload bytes.
 */
import { describe, expect, it } from 'vitest';
import { advance, until, type TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();
let engine: TestEngine;

describe('smtp delivery', () => {
  it('delivers with KumoMTA record fields (checklist 14, 55, 70)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['rcpt@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toEqual({
      type: 'Delivery', recipients: ['rcpt@example.org'], code: 250, content: 'OK queued', command: '.\r\n',
      site: `unspecified->mx_list:${m.address}@smtp_client`, peer: { name: m.address, addr: m.address }, protocol: 'ESMTP',
    });
    expect(ev!.response.enhanced_code).toEqual({ class: 2, subject: 0, detail: 0 });
    expect(ev!.sourceAddress!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ev!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ev!.tls).toMatchObject({ protocolVersion: 'TLSv1.3', peerSubjectName: ['CN=mx.kumo-lua.test'] });
    expect(ev!.tls!.cipher).toMatch(/^TLS_/);
    expect(m.delivered()).toHaveLength(1);
    expect(m.delivered()[0]).toMatchObject({ sender: 'sender@example.com', recipients: ['rcpt@example.org'], tls: true });
    expect(engine.manager.metrics.totalMessagesDelivered.get(`smtp_client:unspecified->mx_list:${m.address}@smtp_client`)).toBe(1);
    await until(() => engine!.spool.pendingWrites === 0);
    expect(engine.spool.count()).toBe(0);
  });

  it('reuses one connection for many messages of a ready queue (checklist 40, 75)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    for (let i = 0; i < 5; i++) await engine.manager.insert(mail([`r${i}@example.org`], { clock: engine.clock }));
    const evs = await waitRecords(engine, 5);
    expect(evs.map((e) => e.type)).toEqual(Array(5).fill('Delivery'));
    expect(m.connections).toHaveLength(1);
    expect(m.delivered().map((t) => t.recipients[0])).toEqual(['r0@example.org', 'r1@example.org', 'r2@example.org', 'r3@example.org', 'r4@example.org']);
    expect(new Set(evs.map((e) => e.sessionId)).size).toBe(1);
    // idle_timeout (5 s) ends the session with QUIT
    await advance(engine.clock, 6000);
    expect(engine.manager.metrics.connectionCount.get('smtp_client')).toBe(0);
  });

  it('max_deliveries_per_connection = 2: five messages take three connections (checklist 76)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { max_deliveries_per_connection: 2 } });
    for (let i = 0; i < 5; i++) await engine.manager.insert(mail([`r${i}@example.org`], { clock: engine.clock }));
    await waitRecords(engine, 5);
    await until(() => m.connections.length === 3, 'three connections');
    expect(m.delivered()).toHaveLength(5);
  });

  it('per-recipient outcomes: 250, 451, 550 in one message (checklist 56, 57, 60, 61)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    const msg = mail(['ok@example.org', 'tempfail@example.org', 'permfail@example.org', 'ok2@example.org'], { clock: engine.clock });
    await engine.manager.insert(msg);
    const evs = await waitRecords(engine, 3);
    const byType = Object.fromEntries(evs.map((e) => [e.type, view(e)]));
    expect(byType.Delivery).toMatchObject({ recipients: ['ok@example.org', 'ok2@example.org'], code: 250, command: '.\r\n' });
    expect(byType.TransientFailure).toMatchObject({ recipients: ['tempfail@example.org'], code: 451, content: 'try again later', command: 'RCPT TO:<tempfail@example.org>\r\n', protocol: 'ESMTP' });
    expect(byType.Bounce).toMatchObject({ recipients: ['permfail@example.org'], code: 550, content: 'no such user', command: 'RCPT TO:<permfail@example.org>\r\n' });
    expect(m.delivered()[0]!.recipients).toEqual(['ok@example.org', 'ok2@example.org']);
    // requeued with only the deferred recipient, attempt counted
    expect(msg.recipients).toEqual(['tempfail@example.org']);
    expect(msg.numAttempts).toBe(1);
    const mm = engine.manager.metrics;
    const svc = `smtp_client:unspecified->mx_list:${m.address}@smtp_client`;
    expect([mm.totalMessagesDelivered.get(svc), mm.totalMessagesTransfail.get(svc), mm.totalMessagesFail.get(svc)]).toEqual([2, 1, 1]);
  });

  it('a 421 mid-session closes the connection; the next message goes on a new one (checklist 77, 78)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['first@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    await engine.manager.insert(mail(['421-busy@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 2);
    expect(view(evs[1]!)).toMatchObject({ type: 'TransientFailure', code: 421, command: 'RCPT TO:<421-busy@example.org>\r\n' });
    await engine.manager.insert(mail(['third@example.org'], { clock: engine.clock }));
    const all = await waitRecords(engine, 3);
    expect(view(all[2]!)).toMatchObject({ type: 'Delivery', recipients: ['third@example.org'] });
    expect(m.connections).toHaveLength(2);
  });

  it('connection refused, then the next mx_list host: only a Delivery record (checklist 16, 23; broken_first_choice_mx)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { smtp: { mx_list: [{ name: 'dead', addr: '127.0.0.1:1' }, { name: 'live', addr: m.address }] } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 1);
    await advance(engine.clock, 100);
    expect(engine.records.events.filter((e) => e.type !== 'Delayed').map((e) => e.type)).toEqual(['Delivery']);
    expect(view(evs[0]!)).toMatchObject({ peer: { name: 'live', addr: m.address }, site: `unspecified->mx_list:127.0.0.1:1,${m.address}@smtp_client` });
  });

  it('every candidate failing gives one 400 listing each failure (checklist 24, 71)', async () => {
    engine = await f.engine(null, { smtp: { mx_list: ['127.0.0.1:1', '127.0.0.1:2'] } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('TransientFailure');
    expect(ev!.response.code).toBe(400);
    expect(ev!.response.content).toMatch(/^KumoMTA internal: failed to connect to any candidate hosts: connect to 127\.0\.0\.1:1 and read initial banner: failed to connect to 127\.0\.0\.1:1 None: .*ECONNREFUSED.*, connect to 127\.0\.0\.1:2 and read initial banner: /);
    expect(ev!.peerAddress).toBeNull();
    expect(ev!.sourceAddress ?? null).toBeNull();
    expect(ev!.tls).toBeUndefined();
    expect(ev!.deliveryProtocol).toBe('ESMTP');
  });

  it('sends the stored bytes: leading dots stuffed on the wire and restored (checklist 49, 50, 86; end_to_end_stuffed)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    const body = '.starts with a dot\r\nSubject: x\r\n\r\n.\r\n..two\r\nlast line without newline';
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock, body }));
    await waitRecords(engine, 1);
    expect(m.delivered()[0]!.data.toString('utf8')).toBe(`${body}\r\n`);
  });

  it('an 8-bit body goes with BODY=8BITMIME when offered, else bounces 5.6.3 unsent (checklist 45, 46)', async () => {
    const body = 'Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n';
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock, body }));
    await waitRecords(engine, 1);
    expect(m.delivered()[0]!.mailParams).toMatchObject({ BODY: '8BITMIME' });
    expect(m.delivered()[0]!.data.toString('utf8')).toBe(body);
    await f.closeEngine();

    const plain = await f.mx({ eightBitMime: false });
    engine = await f.engine(plain);
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock, body }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 554, command: null, content: 'KumoMTA internal: DATA is 8bit, destination does not support 8BITMIME. Conversion via msg:check_fix_conformance during reception is required' });
    expect(ev!.response.enhanced_code).toEqual({ class: 5, subject: 6, detail: 3 });
    expect(plain.transactions).toHaveLength(0);
  });

  it('the final-reply timeout is a 421 4.4.2 TransientFailure on the virtual clock (checklist 65)', async () => {
    const m = await f.mx();
    let received = false;
    m.onData = () => {
      received = true;
      return { code: 0, text: '' };
    };
    engine = await f.engine(m, { path: { data_dot_timeout: '30s' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await until(() => received, 'data at the MX');
    await engine.clock.advance(30_000, 20);
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 421, command: '.\r\n' });
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to send message to unspecified->mx_list:${m.address}@smtp_client Some(ResolvedAddress { name: "${m.address}", addr: 127.0.0.1, is_secure: false }): Timed Out waiting 30s for response to ".\\r\\n"`);
    expect(ev!.response.enhanced_code).toEqual({ class: 4, subject: 4, detail: 2 });
  });
});
