/** The mail transaction on the wire (smtp-delivery.md §3.6–3.8, §4.3–4.5) against a scripted server. */
import { describe, expect, it } from 'vitest';
import { until } from '../../helpers/engine.ts';
import { mail, smtpEngine, view, waitRecords, smtpFixtures } from './engine.ts';
import type { RawMx } from './raw-mx.ts';
import type { SmtpServices } from '../../../src/delivery/smtp/ports.ts';
import type { JsonObject } from '../../../src/util/json.ts';

const f = smtpFixtures();
const setup = (path: JsonObject = {}, services: Partial<SmtpServices> = {}) => f.scripted(path, services);

const commands = (mx: RawMx) => mx.lines.filter((l) => !/^(EHLO|QUIT)/.test(l));

describe('commands', () => {
  it('pipelines MAIL, RCPTs and DATA in one write and sends the body after 354 (checklist 42)', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(['a@example.org', 'b@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    const burst = mx.chunks.find((c) => c.startsWith('MAIL FROM'));
    expect(burst).toBe('MAIL FROM:<sender@example.com>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
  });

  it('without PIPELINING sends RCPT and DATA even after MAIL is rejected (checklist 43, 58)', async () => {
    const { mx, e } = await setup();
    mx.ehlo = '250 raw.test\r\n';
    mx.script = (line) => (line.startsWith('MAIL') ? '552 too big\r\n' : line === 'DATA' ? '503 no valid recipients\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(commands(mx)).toEqual(['MAIL FROM:<sender@example.com>', 'RCPT TO:<a@example.org>', 'DATA']);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 552, content: 'too big', command: 'MAIL FROM:<sender@example.com>\r\n' });
    expect(mx.chunks.some((c) => c.startsWith('MAIL') && c.includes('RCPT'))).toBe(false);
  });

  it('RSET only between transactions: after success per enable_rset, after failure always (checklist 40, 41)', async () => {
    const { mx, e } = await setup({ enable_rset: false });
    mx.script = (line) => (line === 'RCPT TO:<permfail@example.org>' ? '550 5.1.1 no\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    await waitRecords(e, 2);
    await e.manager.insert(mail(['permfail@example.org'], { clock: e.clock }));
    await waitRecords(e, 3);
    await e.manager.insert(mail(['c@example.org'], { clock: e.clock }));
    await waitRecords(e, 4);
    expect(commands(mx).filter((l) => /^(RSET|MAIL)/.test(l))).toEqual(['MAIL FROM:<sender@example.com>', 'MAIL FROM:<sender@example.com>', 'MAIL FROM:<sender@example.com>', 'RSET', 'MAIL FROM:<sender@example.com>']);
    expect(mx.connections).toBe(1);
  });

  it('sends RSET after a success by default', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    await waitRecords(e, 2);
    expect(commands(mx)[commands(mx).length - 4]).toBe('RSET');
  });

  it('a 354 after every RCPT failed gets a lone "." and the RCPT rejection is reported (checklist 44)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line.startsWith('RCPT') ? '550 5.1.1 unknown\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    await until(() => mx.payloads.length === 1, 'lone dot');
    expect(mx.payloads).toEqual(['']);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 550, command: 'RCPT TO:<a@example.org>\r\n' });
  });

  it('null sender is MAIL FROM:<> and SIZE= is never sent (checklist 48)', async () => {
    const { mx, e } = await setup();
    mx.ehlo = '250-raw.test\r\n250-SIZE 1000000\r\n250 PIPELINING\r\n';
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock, sender: '' }));
    await waitRecords(e, 1);
    expect(commands(mx)[0]).toBe('MAIL FROM:<>');
  });

  it('bare LF payloads are sent unchanged, dot-stuffed after LF too (checklist 51)', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock, body: 'Subject: x\n\n.dot\nend\n' }));
    await waitRecords(e, 1);
    expect(mx.chunks.join('')).toContain('Subject: x\n\n..dot\nend\n.\r\n');
  });

  it('a UTF-8 recipient without SMTPUTF8 bounces 5.6.7 unsent; with it MAIL carries SMTPUTF8 (checklist 46)', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(['j\u00f6rg@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    expect(commands(mx)[0]).toBe('MAIL FROM:<sender@example.com> SMTPUTF8');
    mx.ehlo = '250 raw.test\r\n';
    const e2 = await smtpEngine(null, { smtp: { mx_list: [mx.address] }, path: { enable_tls: 'Disabled' } });
    try {
      await e2.manager.insert(mail(['j\u00f6rg@example.org'], { clock: e2.clock }));
      const [ev] = await waitRecords(e2, 1);
      expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 554, command: null, content: 'KumoMTA internal: envelope is 8bit, destination does not support SMTPUTF8.' });
    } finally {
      await e2.close();
    }
  });

  it('ignore_8bit_checks sends an 8-bit body without BODY= (checklist 47)', async () => {
    const { mx, e } = await setup({ ignore_8bit_checks: true });
    mx.ehlo = '250 raw.test\r\n';
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock, body: 'Subject: \u00e9\r\n\r\nx\r\n' }));
    const [ev] = await waitRecords(e, 1);
    expect(ev!.type).toBe('Delivery');
    expect(commands(mx)[0]).toBe('MAIL FROM:<sender@example.com>');
  });
});

describe('replies', () => {
  it('a multi-line reply is one response with repeated enhanced prefixes stripped (checklist 52)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line === '.' ? '250-2.0.0 queued as X\r\n250 2.0.0 see you\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(ev!.response).toEqual({ code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'queued as X\nsee you', command: '.\r\n' });
  });

  it('an over-long reply line is a 400 transport failure (checklist 53)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line === '.' ? `250 ${'x'.repeat(5000)}\r\n` : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 400, content: 'KumoMTA internal: failed to send message: Response line is too long' });
  });

  it('mixed codes in one reply are a malformed response (checklist 54)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line === '.' ? '250-ok\r\n550 no\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 400, content: 'KumoMTA internal: failed to send message: Malformed Response: 550 no' });
  });

  it('503 to RCPT is transient (checklist 59; MAIL, final dot and 354: replies.test.ts)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line.startsWith('RCPT') ? '503 5.5.1 bad sequence\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 503 });
  });

  it('a bare 552 to RCPT without a classifier is transient (checklist 58)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line.startsWith('RCPT') ? '552 mailbox full\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 552 });
  });
});

describe('use_lmtp (§3.11)', () => {
  it('says LHLO instead of EHLO; the record still says ESMTP', async () => {
    const { mx, e } = await setup({ use_lmtp: true });
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(mx.lines[0]).toMatch(/^LHLO /);
    expect(view(ev!)).toMatchObject({ type: 'Delivery', protocol: 'ESMTP' });
  });
});

describe('KumoMTA integration scenarios', () => {
  it('a quoted local part goes as stored (end_to_end_quoted_localpart)', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(['"info@"@example.com'], { clock: e.clock }));
    const [ev] = await waitRecords(e, 1);
    expect(ev!.type).toBe('Delivery');
    expect(mx.lines).toContain('RCPT TO:<"info@"@example.com>');
  });

  it('451 to the final dot and a hang-up: one TransientFailure, the next message still delivered (disconnect_in_data)', async () => {
    const { mx, e } = await setup({ connection_limit: 1 });
    let first = true;
    mx.script = (line) => {
      if (line === '.' && first) {
        first = false;
        return '451 4.3.0 try later\r\nHANGUP';
      }
      return null;
    };
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock }));
    const [tf] = await waitRecords(e, 1);
    expect(view(tf!)).toMatchObject({ type: 'TransientFailure', code: 451, command: '.\r\n' });
    await e.manager.insert(mail(['b@example.org'], { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => x.type)).toEqual(['TransientFailure', 'Delivery']);
  });
});
