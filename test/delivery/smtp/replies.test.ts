/**
 * Odd replies and what they become (smtp-delivery.md §4.3, §4.5, §4.6):
 * 503 anywhere and a 354 to the final dot are transient; the rewrite event
 * never sees synthesized timeouts; totals count recipients.
 */
import { describe, expect, it } from 'vitest';
import { engineMetricsSource } from '../../../src/daemon/metrics-adapter.ts';
import { renderPrometheus } from '../../../src/server/metrics/render.ts';
import { quiesce, until, type TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();

describe('record type of odd replies (§4.3, checklist 59)', () => {
  it('503 to MAIL is a TransientFailure (other 5xx to MAIL bounce: checklist 58)', async () => {
    const { mx, e } = await f.scripted();
    mx.script = (line) => (line.startsWith('MAIL') ? '503 5.5.1 bad sequence\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [first] = await waitRecords(e, 1);
    expect(view(first!)).toMatchObject({ type: 'TransientFailure', code: 503, command: 'MAIL FROM:<sender@example.com>\r\n' });
  });

  it('503 and 354 as the reply to the final dot are TransientFailures, command ".\\r\\n"', async () => {
    const { mx, e } = await f.scripted();
    const finals = ['503 5.5.1 out of sequence\r\n', '354 again?\r\n'];
    let n = 0;
    mx.script = (line) => (line === '.' ? finals[n++] ?? null : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs.map((ev) => [ev.type, ev.response.code, ev.response.command])).toEqual([
      ['TransientFailure', 503, '.\r\n'],
      ['TransientFailure', 354, '.\r\n'],
    ]);
  });
});

describe('smtp_client_rewrite_delivery_status scope (§4.5, checklist 69)', () => {
  it('is not invoked for a synthesized timeout, nor for 250', async () => {
    const seen: string[] = [];
    const { mx, e } = await f.scripted({ data_dot_timeout: '5s' }, {
      rewriteDeliveryStatus: async (line) => {
        seen.push(line);
        return 550;
      },
    });
    let dots = 0;
    // The first final dot gets no answer (timeout); the second is accepted.
    mx.script = (line) => (line === '.' && dots++ === 0 ? '' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await until(() => dots === 1, 'the final dot at the MX');
    for (let i = 0; i < 20 && e.records.events.length === 0; i++) {
      await e.clock.advance(1_000, 10);
      await quiesce();
    }
    const [timeout] = await waitRecords(e, 1);
    expect(view(timeout!)).toMatchObject({ type: 'TransientFailure', code: 421, command: '.\r\n' });
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs[1]!.type).toBe('Delivery');
    expect(seen).toEqual([]);
  });
});

describe('totals per recipient (§4.6, checklist 73)', () => {
  let engine: TestEngine;
  it('total_messages_delivered / _transfail / _fail move by recipients, not messages', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['a@example.org', 'b@example.org', 'c@example.org'], { clock: engine.clock }));
    await engine.manager.insert(mail(['d@example.org', 'tempfail1@example.org', 'tempfail2@example.org', 'permfail@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 4);
    const svc = `smtp_client:unspecified->mx_list:${m.address}@smtp_client`;
    const text = await renderPrometheus(engineMetricsSource(engine.manager, null, engine.clock).collect());
    const value = (name: string) => text.split('\n').find((l) => l.startsWith(`${name}{service="${svc}"}`))?.split(' ').at(-1);
    expect([value('total_messages_delivered'), value('total_messages_transfail'), value('total_messages_fail')]).toEqual(['4', '2', '1']);
  });
});

describe('452 variants (§4.4; maildir_batch_452_*)', () => {
  it('452 4.1.1 on a later RCPT is a plain TransientFailure, no immediate retry', async () => {
    const { mx, e } = await f.scripted();
    mx.script = (line) => (line === 'RCPT TO:<b@example.org>' ? '452 4.1.1 mailbox busy\r\n' : null);
    await e.manager.insert(mail(['a@example.org', 'b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => [x.type, x.response.code])).toEqual([['Delivery', 250], ['TransientFailure', 452]]);
    expect(mx.lines.filter((l) => l === 'RCPT TO:<b@example.org>')).toHaveLength(1);
  });

  it('a bare 452 to a single-recipient message is a TransientFailure at once', async () => {
    const { mx, e } = await f.scripted();
    mx.script = (line) => (line.startsWith('RCPT') ? '452 mailbox busy\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 452 });
    expect(mx.lines.filter((l) => l.startsWith('RCPT'))).toHaveLength(1);
  });
});

describe('reply timeouts in milliseconds, on the virtual clock (§2.6, §4.7)', () => {
  it('data_timeout = 250ms: no 354 → 421 4.4.2 TransientFailure with command "DATA\\r\\n"; the next message gets a new connection', async () => {
    const { mx, e } = await f.scripted({ data_timeout: '250ms' });
    let datas = 0;
    mx.script = (line) => (line === 'DATA' && datas++ === 0 ? '' : null);
    const started = e.clock.now();
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await until(() => datas === 1, 'DATA at the MX');
    // The client may start waiting for the 354 just after the MX saw DATA: step until the deadline fires.
    for (let i = 0; i < 20 && e.records.events.length === 0; i++) {
      await e.clock.advance(50, 10);
      await quiesce();
    }
    expect(e.clock.now() - started).toBeLessThan(2_000);
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 421, command: 'DATA\r\n' });
    expect(ev!.response.enhanced_code).toEqual({ class: 4, subject: 4, detail: 2 });
    expect(ev!.response.content).toMatch(/: Timed Out waiting 250ms for response to "DATA\\r\\n"$/);
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs[1]!.type).toBe('Delivery');
    expect(mx.connections).toBe(2);
  });
});

describe('a 421 reply breaks the connection even if the peer stays (§4.2, checklist 78)', () => {
  it('421 to MAIL without a hang-up: one TransientFailure, the next message goes on a new connection', async () => {
    const { mx, e } = await f.scripted();
    let mails = 0;
    mx.script = (line) => (line.startsWith('MAIL') && mails++ === 0 ? '421 4.3.2 busy\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [first] = await waitRecords(e, 1);
    expect(view(first!)).toMatchObject({ type: 'TransientFailure', code: 421, command: 'MAIL FROM:<sender@example.com>\r\n' });
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs[1]!.type).toBe('Delivery');
    expect(mx.connections).toBe(2);
  });
});

describe('the 421 check uses the rewritten code (§4.5)', () => {
  it('421 rewritten to 550: a Bounce, and the connection is kept for the next message', async () => {
    const { mx, e } = await f.scripted({}, { rewriteDeliveryStatus: async (line) => (line.startsWith('421') ? 550 : null) });
    let mails = 0;
    mx.script = (line) => (line.startsWith('MAIL') && mails++ === 0 ? '421 4.3.2 busy\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [first] = await waitRecords(e, 1);
    expect(view(first!)).toMatchObject({ type: 'Bounce', code: 550, content: 'busy (kumomta: status was rewritten from 421 -> 550)' });
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs[1]!.type).toBe('Delivery');
    expect(mx.connections).toBe(1);
  });
});
