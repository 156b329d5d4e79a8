import { describe, expect, it } from 'vitest';
import { useClassifierPolicies } from '../helpers/classifier-policy.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const policyFile = useClassifierPolicies('bounce-e2e-', '[rules]\nInvalidRecipient = [ "^550 5\\\\.1\\\\.1 " ]\nGreylisted = [ "greylist" ]\n', `
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '1h', protocol = { custom_lua = { constructor = 'make.fail' } } }
end)
kumo.on('make.fail', function()
  return {
    send = function(self, msg)
      if msg:recipient().user == 'gone' then kumo.reject(550, '5.1.1 no such user') end
      kumo.reject(451, '4.7.1 greylisted, come back later')
    end,
  }
end)
`);

async function run(withClassifier: boolean) {
  const policy = await createPolicyTest({ policy: policyFile(withClassifier), print: () => undefined });
  try {
    for (const user of ['gone', 'later']) {
      await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: `${user}@example.net` }], content: 'Subject: hi\r\n\r\nhello\r\n' });
    }
    await policy.advance('1m');
    return {
      bounce: policy.records('Bounce').map((r) => r.bounce_classification),
      transient: policy.records('TransientFailure').map((r) => r.bounce_classification),
      reception: policy.records('Reception').map((r) => r.bounce_classification),
    };
  } finally {
    await policy.close();
  }
}

describe('bounce_classification in log records', () => {
  it('classifies Bounce and TransientFailure records of the engine, never Reception', async () => {
    expect(await run(true)).toEqual({ bounce: ['InvalidRecipient'], transient: ['Greylisted'], reception: ['Uncategorized', 'Uncategorized'] });
  });

  it('says Uncategorized without a classifier', async () => {
    expect(await run(false)).toEqual({ bounce: ['Uncategorized'], transient: ['Uncategorized'], reception: ['Uncategorized', 'Uncategorized'] });
  });
});
