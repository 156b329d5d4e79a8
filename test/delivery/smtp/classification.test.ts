/**
 * SMTP outcomes through the whole daemon path: a policy with
 * kumo.configure_bounce_classifier delivering to a mock MX. 5xx RCPT
 * replies become Bounce records and 4xx TransientFailure records, each
 * with `bounce_classification` from the classifier (smtp-delivery.md §4.9,
 * checklist 74); per-recipient totals (checklist 73).
 */
import { describe, expect, it } from 'vitest';
import { useClassifierPolicies } from '../../helpers/classifier-policy.ts';
import { createPolicyTest } from '../../../src/testing/index.ts';

const policyFile = useClassifierPolicies('smtp-classify-', '[rules]\nInvalidRecipient = [ "^550 5\\\\.1\\\\.1 " ]\nServiceUnavailable = [ "^451 4\\\\.2\\\\.1 " ]\n', `
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1h', protocol = { smtp = { mx_list = { 'mx.test' } } } }
end)
`);

async function run(withClassifier: boolean) {
  const policy = await createPolicyTest({ policy: policyFile(withClassifier), print: () => undefined });
  try {
    await policy.smtp('mx.test');
    // Three messages: 250, 451 (tempfail) and 550 (permfail) from the mock's default RCPT rule.
    await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'ok@example.net' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
    await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'tempfail@example.net' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
    await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'permfail@example.net' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
    await policy.advance('1m');
    const pick = (type: string) => policy.records(type).map((r) => ({ code: (r.response as { code: number }).code, class: r.bounce_classification, protocol: r.delivery_protocol }));
    return { bounce: pick('Bounce'), transient: pick('TransientFailure'), delivery: pick('Delivery') };
  } finally {
    await policy.close();
  }
}

describe('SMTP outcomes get the bounce classifier category (§4.9)', () => {
  it('550 5.1.1 → Bounce InvalidRecipient; 451 4.2.1 → TransientFailure ServiceUnavailable; Delivery stays Uncategorized (checklist 74)', async () => {
    expect(await run(true)).toEqual({
      bounce: [{ code: 550, class: 'InvalidRecipient', protocol: 'ESMTP' }],
      transient: [{ code: 451, class: 'ServiceUnavailable', protocol: 'ESMTP' }],
      delivery: [{ code: 250, class: 'Uncategorized', protocol: 'ESMTP' }],
    });
  });

  it('says Uncategorized without a classifier', async () => {
    const r = await run(false);
    expect([...r.bounce, ...r.transient].map((x) => x.class)).toEqual(['Uncategorized', 'Uncategorized']);
  });
});
