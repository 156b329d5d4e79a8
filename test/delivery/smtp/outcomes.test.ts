/** Batching, too-many-recipients, the rewrite event and the classifier (smtp-delivery.md §4). */
import { describe, expect, it } from 'vitest';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';
import type { SmtpServices } from '../../../src/delivery/smtp/ports.ts';
import type { JsonObject } from '../../../src/util/json.ts';

const f = smtpFixtures();
const setup = (path: JsonObject = {}, services: Partial<SmtpServices> = {}) => f.scripted(path, services);

const rcpts = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@example.org`);

describe('recipient batches', () => {
  it('150 recipients go as 100 + 50 on one connection (checklist 62)', async () => {
    const { mx, e } = await setup();
    await e.manager.insert(mail(rcpts(150), { clock: e.clock }));
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => [x.type, x.recipients!.length])).toEqual([['Delivery', 100], ['Delivery', 50]]);
    expect(mx.payloads).toHaveLength(2);
    expect(mx.connections).toBe(1);
  });

  it('max_recipients_per_batch = 1: one Delivery per recipient (maildir_batch_max_per_batch)', async () => {
    const { mx, e } = await setup({ max_recipients_per_batch: 1 });
    await e.manager.insert(mail(rcpts(5), { clock: e.clock }));
    const evs = await waitRecords(e, 5);
    expect(evs.map((x) => x.recipients)).toEqual(rcpts(5).map((r) => [r]));
    expect(mx.payloads).toHaveLength(5);
  });

  it('a 452 4.5.3 cap sends the leftovers at once with no TransientFailure record (checklist 63; maildir_batch)', async () => {
    const { mx, e } = await setup();
    let n = 0;
    mx.script = (line, st) => {
      if (line.startsWith('MAIL')) n = 0;
      if (line.startsWith('RCPT')) return ++n > 2 ? '452 4.5.3 too many recipients\r\n' : null;
      void st;
      return null;
    };
    const msg = mail(rcpts(4), { clock: e.clock });
    await e.manager.insert(msg);
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => [x.type, x.recipients])).toEqual([['Delivery', ['r0@example.org', 'r1@example.org']], ['Delivery', ['r2@example.org', 'r3@example.org']]]);
    expect(e.manager.metrics.totalMessagesTransfail.get('smtp_client')).toBe(2);
  });

  it('a bare 452 on a later RCPT gets one immediate retry, then a TransientFailure (checklist 64)', async () => {
    const { mx, e } = await setup();
    mx.script = (line) => (line === 'RCPT TO:<r1@example.org>' ? '452 mailbox busy\r\n' : null);
    const msg = mail(rcpts(2), { clock: e.clock });
    await e.manager.insert(msg);
    const evs = await waitRecords(e, 2);
    expect(evs.map((x) => [x.type, x.recipients, x.response.code])).toEqual([['Delivery', ['r0@example.org'], 250], ['TransientFailure', ['r1@example.org'], 452]]);
    expect(mx.lines.filter((l) => l === 'RCPT TO:<r1@example.org>')).toHaveLength(2);
    expect(msg.recipients).toEqual(['r1@example.org']);
  });
});

describe('smtp_client_rewrite_delivery_status (§4.5)', () => {
  it('450 → 550 yields a Bounce with the rewrite note (checklist 67)', async () => {
    const calls: unknown[][] = [];
    const { mx, e } = await setup({}, {
      rewriteDeliveryStatus: async (...args) => {
        calls.push(args);
        return args[0].startsWith('450') ? 550 : null;
      },
    });
    mx.script = (line) => (line.startsWith('RCPT') ? '450-4.2.2 mailbox\r\n450 4.2.2 full\r\n' : null);
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock, meta: { tenant: 't1' } }));
    const [ev] = await waitRecords(e, 1);
    expect(view(ev!)).toMatchObject({ type: 'Bounce', code: 550, content: 'mailbox\nfull (kumomta: status was rewritten from 450 -> 550)' });
    expect(ev!.response.enhanced_code).toEqual({ class: 4, subject: 2, detail: 2 });
    expect(calls).toEqual([['450 4.2.2 mailbox full', 'example.org', 't1', null, 'example.org']]);
  });

  it('nil, the same code or a raising handler leave it unchanged; 250 is never offered (checklist 68, 69)', async () => {
    const seen: string[] = [];
    let mode = 0;
    const { mx, e } = await setup({}, {
      rewriteDeliveryStatus: async (line) => {
        seen.push(line);
        if (mode === 1) return 451;
        if (mode === 2) throw new Error('boom');
        return null;
      },
    });
    mx.script = (line) => (line.startsWith('RCPT TO:<t') ? '451 4.3.0 later\r\n' : null);
    await e.manager.insert(mail(['ok@example.org'], { clock: e.clock }));
    await waitRecords(e, 1);
    for (mode = 0; mode < 3; mode++) {
      await e.manager.insert(mail([`t${mode}@example.org`], { clock: e.clock }));
      const evs = await waitRecords(e, 2 + mode);
      expect(view(evs[1 + mode]!)).toMatchObject({ type: 'TransientFailure', code: 451, content: 'later' });
    }
    expect(seen).toEqual(['451 4.3.0 later', '451 4.3.0 later', '451 4.3.0 later']);
  });
});

describe('classifier', () => {
  it('a bare 452 classified TooManyRecipients retries immediately; other classes do not (checklist 74 via §4.4)', async () => {
    const { mx, e } = await setup({}, { classify: () => 'TooManyRecipients' });
    let n = 0;
    mx.script = (line) => {
      if (line.startsWith('MAIL')) n = 0;
      return line.startsWith('RCPT') && ++n > 1 ? '452 too many\r\n' : null;
    };
    await e.manager.insert(mail(rcpts(3), { clock: e.clock }));
    const evs = await waitRecords(e, 3);
    expect(evs.map((x) => x.type)).toEqual(['Delivery', 'Delivery', 'Delivery']);
  });
});
