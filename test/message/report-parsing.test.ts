import { describe, expect, it } from 'vitest';
import { bytes, withMessage } from './lua-fixture.ts';
import { ARF, DSN } from '../server/smtp/report-fixtures.ts';
import { parseRfc3464, parseRfc5965 } from '../../src/message/report-parsing.ts';

const DSN_WITHOUT_STATUS = DSN.replace('Content-Type: message/delivery-status', 'Content-Type: text/plain');

describe('msg:parse_rfc3464()', () => {
  it('returns nil for a message that is not a report (checklist 61)', async () => {
    const f = withMessage();
    expect(await f.eval('return the_msg():parse_rfc3464() == nil')).toBe(true);
  });

  it('raises for a multipart/report without a delivery-status part (checklist 61)', async () => {
    const f = withMessage({ data: bytes(DSN_WITHOUT_STATUS) });
    expect(await f.eval('local ok, e = pcall(function() return the_msg():parse_rfc3464() end); return { ok, tostring(e) }')).toEqual([
      false,
      expect.stringContaining('no message/delivery-status part'),
    ]);
  });

  it('reads per-message and per-recipient fields with KumoMTA key names', async () => {
    const f = withMessage({ data: bytes(DSN) });
    const r = await f.eval(`local r = the_msg():parse_rfc3464()
      return { r.per_message.reporting_mta.name, r.per_recipient[1].action, r.per_recipient[1].status.detail, #r.per_recipient, r.original_message }`);
    expect(r).toEqual(['mx.remote.example', 'failed', 1, 2, 'From: sender@origin.example\nSubject: original\n']);
    expect(parseRfc3464(bytes(DSN))).toEqual({
      per_message: {
        reporting_mta: { mta_type: 'dns', name: 'mx.remote.example' },
        original_envelope_id: 'env-42',
        arrival_date: '2026-12-03T10:00:00Z',
        extensions: { 'x-custom-field': ['extra'] },
      },
      per_recipient: [
        {
          final_recipient: { recipient_type: 'rfc822', recipient: 'User@remote.example' },
          original_recipient: { recipient_type: 'rfc822', recipient: 'user@remote.example' },
          action: 'failed',
          status: { class: 5, subject: 1, detail: 1 },
          remote_mta: { mta_type: 'dns', name: 'mx2.remote.example' },
          diagnostic_code: { diagnostic_type: 'smtp', diagnostic: '550 5.1.1 no such user' },
          last_attempt_date: '2026-12-03T10:05:00Z',
          extensions: {},
        },
        {
          final_recipient: { recipient_type: 'rfc822', recipient: 'other@remote.example' },
          action: 'delayed',
          status: { class: 4, subject: 2, detail: 2, comment: 'mailbox full' },
          extensions: {},
        },
      ],
      original_message: 'From: sender@origin.example\nSubject: original\n',
    });
  });

  it('raises for malformed fields', () => {
    expect(() => parseRfc3464(bytes(DSN.replace('Status: 5.1.1', 'Status: bogus')))).toThrow(/Status: invalid status code "bogus"/);
    expect(() => parseRfc3464(bytes(DSN.replace('Action: failed', 'Action: exploded')))).toThrow(/Action: invalid value/);
    expect(() => parseRfc3464(bytes(DSN.replace('Reporting-MTA: dns; mx.remote.example', 'Reporting-MTA mx')))).toThrow(/malformed report field/);
  });
});

describe('msg:parse_rfc5965()', () => {
  it('returns the feedback_report table for ARF and nil otherwise', async () => {
    const f = withMessage({ data: bytes(ARF) });
    expect(await f.eval('local r = the_msg():parse_rfc5965(); return { r.feedback_type, r.incidents, r.reported_domain[1] }')).toEqual(['abuse', 3, 'origin.example']);
    expect(parseRfc5965(bytes(DSN))).toBeNull();
    expect(parseRfc5965(bytes('Subject: x\r\n\r\nbody\r\n'))).toBeNull();
    expect(parseRfc5965(bytes(ARF))).toMatchObject({
      arrival_date: '2026-12-03T10:00:00Z',
      original_mail_from: '<bounce@origin.example>',
      original_envelope_id: null,
      authentication_results: ['mail.isp.example; spf=pass smtp.mail=origin.example'],
      reported_uri: [],
      original_message: expect.stringMatching(/^X-KumoRef: .*\nFrom: sender@origin.example\nSubject: spam\?\n\nbody\n$/),
    });
  });

  it('raises when a required ARF field is missing', () => {
    expect(() => parseRfc5965(bytes(ARF.replace('User-Agent: SomeGenerator/1.0\r\n', '')))).toThrow(/missing user-agent/);
  });
});
