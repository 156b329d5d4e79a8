/** Connection set-up failures, reconnect strategies and rate limits (smtp-delivery.md §3.2–3.10, §5). */
import { describe, expect, it } from 'vitest';
import { advance, quiesce, until, type TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();
let engine: TestEngine;

const cmdRejected = (code: number, content: string) => `Command rejected Response { code: ${code}, enhanced_code: None, content: ${JSON.stringify(content)}, command: None }`;

describe('connection set-up', () => {
  it('a greeting other than 220 moves to the next candidate (checklist 22)', async () => {
    const bad = await f.raw();
    bad.greeting = '554 go away\r\n';
    const good = await f.mx();
    engine = await f.engine(null, { smtp: { mx_list: [bad.address, good.address] } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 1);
    expect(evs.map((e) => e.type)).toEqual(['Delivery']);
    expect(view(evs[0]!).peer).toEqual({ name: good.address, addr: good.address });
    expect(bad.lines).toEqual([]);
    expect(good.delivered()).toHaveLength(1);
  });

  it('EHLO rejected: no HELO fallback, the candidate fails (checklist 25)', async () => {
    const r = await f.raw();
    r.script = (line) => (line.startsWith('EHLO') ? '502 not here\r\n' : null);
    engine = await f.engine(null, { smtp: { mx_list: [r.address] }, path: { enable_tls: 'Disabled' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: ${r.address}: EHLO after banner: ${cmdRejected(502, 'not here')}`);
    expect(r.lines.some((l) => l.startsWith('HELO'))).toBe(false);
  });

  it('STARTTLS answered 454 fails the candidate, no plaintext fallback (checklist 30)', async () => {
    const r = await f.raw();
    r.ehlo = '250-raw.test\r\n250 STARTTLS\r\n';
    r.script = (line) => (line === 'STARTTLS' ? '454 TLS not available\r\n' : null);
    engine = await f.engine(null, { smtp: { mx_list: [r.address] } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: ${cmdRejected(454, 'TLS not available')}`);
    expect(r.lines.some((l) => l.startsWith('MAIL'))).toBe(false);
  });

  it('the EHLO name comes from ehlo_domain, then the egress source', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { source: { ehlo_domain: 'source.example' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    expect(m.connections[0]!.ehlo).toBe('source.example');
    await f.closeEngine();
    engine = await f.engine(m, { path: { ehlo_domain: 'path.example' }, source: { ehlo_domain: 'source.example' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    expect(m.connections[1]!.ehlo).toBe('path.example');
  });

  it('the egress source binds its source_address and names EHLO; the Delivery record carries the bound address (§2.10, checklist 70)', async () => {
    const m = await f.mx();
    // Any 127/8 address is bindable on Linux: 127.0.0.2 tells a real bind from the default route.
    engine = await f.engine(m, { source: { source_address: '127.0.0.2', ehlo_domain: 'out.example' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(m.connections[0]!.remote).toMatch(/^127\.0\.0\.2:\d+$/);
    expect(ev!.sourceAddress).toEqual({ address: m.connections[0]!.remote });
    expect(m.connections[0]!.ehlo).toBe('out.example');
    expect(ev).toMatchObject({ egressSource: 'src', egressPool: 'pool', site: `src->mx_list:${m.address}@smtp_client` });
  });

  it('an unplumbed source_address gets the summary prefix (checklist 38; bad_source_address)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { source: { source_address: '192.0.2.55' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toMatch(/^KumoMTA internal: failed to connect to any candidate hosts: All failures are related to having an unplumbed source address\. Are the network interfaces provisioned correctly\? connect to 127\.0\.0\.1:\d+ and read initial banner: bind 192\.0\.2\.55:0 failed: /);
  });
});

describe('egress source health (§2.10; source_health_*)', () => {
  it('suspend_when_unplumbed = Immediate suspends the source after an unplumbed bind', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { source: { source_address: '192.0.2.55', suspend_when_unplumbed: { trigger: 'Immediate', duration: '5m' } } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toContain('unplumbed source address');
    expect(engine.manager.egress.sourceSuspension('src')).toBe(5 * 60_000);
  });
});

describe('broken connections (§3.10, §4.6)', () => {
  it('421 to MAIL with a one-address plan: one TransientFailure, the next messages delivered (checklist 78; disconnect_in_mail_from)', async () => {
    const r = await f.raw();
    let first = true;
    r.script = (line) => {
      if (line.startsWith('MAIL') && first) {
        first = false;
        return '421 4.3.2 shutting down\r\nHANGUP';
      }
      return null;
    };
    engine = await f.engine(null, { smtp: { mx_list: [r.address] }, path: { enable_tls: 'Disabled' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 421, command: 'MAIL FROM:<sender@example.com>\r\n' });
    await engine.manager.insert(mail(['b@example.org'], { clock: engine.clock }));
    await engine.manager.insert(mail(['c@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 3);
    expect(evs.map((e) => e.type)).toEqual(['TransientFailure', 'Delivery', 'Delivery']);
  });

  it('try_next_host_on_transport_error: a 421 retries at once on the next host in the same session (checklist 80; disconnect_in_data_try_next)', async () => {
    const one = await f.raw();
    one.script = (line) => (line === '.' ? '421 4.3.2 bye\r\nHANGUP' : null);
    const two = await f.mx();
    engine = await f.engine(null, { smtp: { mx_list: [{ name: 'localhost-1', addr: one.address }, { name: 'localhost-2', addr: two.address }] }, path: { try_next_host_on_transport_error: true } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 2);
    expect(evs.map((e) => [e.type, e.response.command, e.peerAddress!.name])).toEqual([['TransientFailure', '.\r\n', 'localhost-1'], ['Delivery', '.\r\n', 'localhost-2']]);
    expect(evs[0]!.sessionId).toBe(evs[1]!.sessionId);
  });

  it('reconnect_strategy: ConnectNextHost moves on, ReconnectSameHost stays (checklist 79)', async () => {
    for (const [strategy, expected] of [['ConnectNextHost', 'second'], ['ReconnectSameHost', 'first']] as const) {
      const one = await f.raw();
      let n = 0;
      one.script = (line) => (line.startsWith('MAIL') && n++ === 0 ? '421 4.3.2 bye\r\nHANGUP' : null);
      const two = await f.raw();
      engine = await f.engine(null, { smtp: { mx_list: [{ name: 'first', addr: one.address }, { name: 'second', addr: two.address }] }, path: { enable_tls: 'Disabled', reconnect_strategy: strategy } });
      await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
      await waitRecords(engine, 1);
      await engine.manager.insert(mail(['b@example.org'], { clock: engine.clock }));
      const evs = await waitRecords(engine, 2);
      expect(evs[1]!.peerAddress!.name).toBe(expected);
      expect(evs[1]!.sessionId).toBe(evs[0]!.sessionId);
      await f.closeEngine();
    }
  });

  it('TerminateSession ends the session; a new one delivers the next message', async () => {
    const r = await f.raw();
    let n = 0;
    r.script = (line) => (line.startsWith('MAIL') && n++ === 0 ? '421 4.3.2 bye\r\nHANGUP' : null);
    engine = await f.engine(null, { smtp: { mx_list: [r.address] }, path: { enable_tls: 'Disabled', reconnect_strategy: 'TerminateSession' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    await engine.manager.insert(mail(['b@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 2);
    expect(evs[1]!.type).toBe('Delivery');
    expect(evs[1]!.sessionId).not.toBe(evs[0]!.sessionId);
  });
});

describe('limits (§5)', () => {
  it('connection_limit = 1 never opens two connections at once (checklist 81)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { max_deliveries_per_connection: 1 } });
    for (let i = 0; i < 6; i++) await engine.manager.insert(mail([`r${i}@example.org`], { clock: engine.clock }));
    await waitRecords(engine, 6);
    expect(m.connections.length).toBe(6);
    expect(m.maxConcurrent).toBe(1);
  });

  it('connection_limit holds back sessions while one is busy: 1 → one connection, 32 → more (checklist 81)', async () => {
    // With limit 32 and 2–3 ready messages the §5.2 curve wants 2–3 sessions (limit 3 would still want 1).
    for (const limit of [1, 32]) {
      const { mx, e } = await f.scripted({ connection_limit: limit, data_dot_timeout: '10s' });
      // The first connection never answers the final dot: its session stays busy.
      mx.script = (line, st) => (line === '.' && st.connection === 0 ? '' : null);
      await Promise.all(['a', 'b', 'c', 'd'].map((u) => e.manager.insert(mail([`${u}@example.org`], { clock: e.clock }))));
      await until(() => mx.payloads.length >= 1, 'the first payload');
      // The same few virtual seconds for both limits (below the 10 s deadline): maintainer wake-ups may spawn sessions.
      for (let i = 0; i < 40 && mx.connections === 1; i++) {
        await e.clock.advance(200, 10);
        await quiesce();
      }
      expect(mx.connections > 1).toBe(limit > 1);
      // Release the busy session (its final-dot deadline passes) before closing.
      for (let i = 0; i < 30 && !e.records.events.some((r) => r.type === 'TransientFailure'); i++) {
        await e.clock.advance(1_000, 10);
        await quiesce();
      }
      await f.closeEngine();
    }
  });

  it('max_message_rate = 1/s paces transactions on one connection (checklist 83)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { max_message_rate: '1/s', idle_timeout: '10s' } });
    for (let i = 0; i < 3; i++) await engine.manager.insert(mail([`r${i}@example.org`], { clock: engine.clock }));
    await until(() => m.delivered().length === 1, 'first');
    expect(m.delivered()).toHaveLength(1);
    await engine.clock.advance(1000, 20);
    await until(() => m.delivered().length === 2, 'second');
    await engine.clock.advance(1000, 20);
    await until(() => m.delivered().length === 3, 'third');
    expect(m.connections).toHaveLength(1);
  });

  it('max_message_rate = 1/min requeues the rest with the delay and no attempt increment (checklist 84)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { max_message_rate: '1/min' } });
    const second = mail(['b@example.org'], { clock: engine.clock });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await engine.manager.insert(second);
    await until(() => m.delivered().length === 1 && second.due !== null && second.due > engine!.clock.now(), 'requeue');
    expect(second.numAttempts).toBe(0);
    expect(second.due! - engine.clock.now()).toBe(60_000);
    await advance(engine.clock, 70_000, 10_000);
    await until(() => m.delivered().length === 2, 'later delivery');
  });

  it('max_connection_rate = 1/min with a failed first candidate requeues as throttled (checklist 39)', async () => {
    const m = await f.mx();
    engine = await f.engine(null, { smtp: { mx_list: ['127.0.0.1:1', m.address] }, path: { max_connection_rate: '1/min' } });
    const msg = mail(['a@example.org'], { clock: engine.clock });
    await engine.manager.insert(msg);
    await until(() => msg.due !== null && msg.due > engine!.clock.now(), 'throttled requeue');
    expect(msg.numAttempts).toBe(0);
    expect(engine.records.events.filter((e) => e.type !== 'Delayed')).toEqual([]);
    expect(m.transactions).toHaveLength(0);
  });
});

describe('suspension (suspend_delivery_ready_q, suspend_delivery_scheduled_q)', () => {
  it('a suspended scheduled queue gets a TransientFailure; delivery follows the cancel', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { queue: { retry_interval: '10s' } });
    const rule = engine.manager.admin.suspend({ domain: 'example.org' }, 'maintenance');
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [tf] = await waitRecords(engine, 1);
    expect(tf!.response.content).toBe('KumoMTA internal: scheduled queue is suspended: maintenance');
    engine.manager.admin.resume(rule.id);
    await advance(engine.clock, 60_000, 10_000);
    await until(() => m.delivered().length === 1, 'delivery after the cancel');
  });

  it('a suspended SMTP ready queue delivers nothing until the suspension is lifted', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { queue: { retry_interval: '10s' } });
    const rq = `unspecified->mx_list:${m.address}@smtp_client`;
    const s = engine.manager.admin.suspendReadyQueue(rq, 'paused');
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    expect(engine.records.events.filter((e) => e.type === 'TransientFailure')).toHaveLength(1);
    expect(m.connections).toHaveLength(0);
    engine.manager.admin.resumeReadyQueue(s.id);
    await advance(engine.clock, 60_000, 10_000);
    await until(() => m.delivered().length === 1, 'delivery after the cancel');
  });
});

describe('reuse probe (§3.2)', () => {
  it('a 421 on an idle connection: the next message goes on a new connection, no TransientFailure (checklist 77; disconnect_peer_idle_out)', async () => {
    const { mx, e } = await f.scripted({ idle_timeout: '1m' });
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    mx.hangUpAll('421 4.4.2 idle too long\r\n');
    await until(() => mx.openConnections === 0, 'the hang-up to reach the client');
    expect([...e.manager.ready.queues.values()][0]!.dispatchers.size).toBe(1);
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => x.type)).toEqual(['Delivery', 'Delivery']);
    expect(mx.connections).toBe(2);
  });
});
