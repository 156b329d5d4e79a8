import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { classify, installBounceClassifier } from '../../src/bounce/index.ts';
import { Logging, LOGGING_SLOT } from '../../src/logging/index.ts';
import { BounceClassifier, DEFAULT_RULES_FILE, KUMOMTA_RULES_FILE, rulesFileFor } from '../../src/bounce/classifier.ts';
import { CompiledCapture } from '../../src/records/capture.ts';
import { parseResponse } from '../../src/records/response.ts';
import type { RecordType } from '../../src/records/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';
import { errorOf, newLua } from '../helpers/lua.ts';

const dir = mkdtempSync(join(tmpdir(), 'bounce-rules-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const FIRST = file('first.toml', `
[rules]
Greylisted = [ "greylist" ]
QuotaIssues = [ "^(452|552) [45]\\\\.2\\\\.2 ", "mailbox (is )?full" ]
`);
const SECOND = file('second.json', JSON.stringify({ rules: { InvalidRecipient: ['^550 5\\.1\\.1 ', 'full'], SpamBlock: ['greylist'] } }));
const DEFAULT_RULES = resolve(import.meta.dirname, '../../assets/bounce_classifier/rfc3463.toml');

const nothing = new CompiledCapture({ meta: [], headers: [] });
let logging: Logging;
/** A Lua context with logging, as the daemon wires it. */
function policyContext() {
  const t = newLua();
  t.ctx.provide(LOGGING_SLOT, logging);
  return t;
}
function recordClass(type: RecordType, reply: string): unknown {
  const { text } = logging.builder.build({ type, message: testMessage({}), response: parseResponse(reply, 'RCPT TO') }, nothing);
  return JSON.parse(text).bounce_classification;
}

beforeEach(() => {
  logging = new Logging({ clock: new VirtualClock(Date.UTC(2026, 0, 1)), nodeId: NODE_ID });
  installBounceClassifier(null);
});

describe('kumo.configure_bounce_classifier', () => {
  it('no classifier ⇒ Uncategorized; a .yaml file raises; a second configure raises (§14.52)', async () => {
    expect(recordClass('Bounce', '550 5.1.1 no such user')).toBe('Uncategorized');
    const t = policyContext();
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = { '${file('rules.yaml', 'rules: {}')}' } }`))).toMatch(/must end in \.toml or \.json/);
    await t.eval(`kumo.configure_bounce_classifier { files = { '${FIRST}' } }`);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = { '${FIRST}' } }`))).toMatch(/classifier already initialized/);
    expect(recordClass('Bounce', '451 greylist')).toBe('Greylisted');
    // Another policy context (the next `kumo-lua test` case) may configure its own.
    await policyContext().eval(`kumo.configure_bounce_classifier { files = { '${SECOND}' } }`);
    expect(recordClass('Bounce', '451 greylist')).toBe('SpamBlock');
  });

  it('the first rule in file order wins across categories; user categories verbatim; Delivery never classified (§14.53)', async () => {
    await policyContext().eval(`kumo.configure_bounce_classifier { files = { '${FIRST}', '${SECOND}' }, cache_size = 10 }`);
    expect(recordClass('TransientFailure', '451 4.7.1 greylisted, try later')).toBe('Greylisted');
    expect(recordClass('Bounce', '552 5.2.2 mailbox full')).toBe('QuotaIssues');
    expect(recordClass('Bounce', '550 5.1.1 mailbox full')).toBe('QuotaIssues');
    expect(recordClass('Bounce', '550 5.1.1 no such user')).toBe('InvalidRecipient');
    expect(recordClass('Delivery', '250 greylist mailbox full')).toBe('Uncategorized');
    expect(recordClass('Expiration', '551 5.4.7 too old')).toBe('Uncategorized');
    // Cached answers stay the same.
    expect(recordClass('Bounce', '550 5.1.1 no such user')).toBe('InvalidRecipient');
  });

  it('matches "<code> <enhanced> <text>" with line breaks folded', () => {
    const c = new BounceClassifier({ files: [file('multi.toml', '[rules]\nJoined = [ "^550 5\\\\.7\\\\.1 first second$" ]\n')] });
    expect(c.classify({ code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'first\r\nsecond' })).toBe('Joined');
    expect(c.classify({ code: 550, enhanced_code: null, content: 'first second' })).toBe('Uncategorized');
  });

  it('missing files, unknown keys, bad patterns and a missing files field raise', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = { '${join(dir, 'absent.toml')}' } }`))).toMatch(/absent\.toml/);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = {}, bogus = 1 }`))).toMatch(/unknown field `bogus`/);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier {}`))).toMatch(/missing field `files`/);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = 'x.toml' }`))).toMatch(/`files` must be an array/);
    await policyContext().eval(`kumo.configure_bounce_classifier { files = {} }`);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = { '${file('bad.toml', '[rules]\nX = [ "(" ]\n')}' } }`))).toMatch(/bad\.toml: rules\.X/);
    expect(await errorOf(t.eval(`kumo.configure_bounce_classifier { files = { '${file('broken.toml', '[rules\n')}' } }`))).toMatch(/broken\.toml/);
  });

  it("kumo-lua's RFC 3463 rules classify by enhanced status code", () => {
    const c = new BounceClassifier({ files: [DEFAULT_RULES] });
    const cases: Array<[string, string]> = [
      ['550 5.1.1 user unknown', 'InvalidRecipient'],
      ['556 5.1.10 null MX', 'BadDomain'],
      ['552 5.2.2 over quota', 'QuotaIssues'],
      ['450 4.2.1 mailbox disabled', 'InactiveMailbox'],
      ['452 4.5.3 too many recipients', 'TooManyRecipients'],
      ['451 4.4.1 no answer', 'NoAnswerFromHost'],
      ['451 4.4.5 congestion', 'TransientFailure'],
      ['551 5.4.7 expired', 'MessageExpired'],
      ['535 5.7.8 bad credentials', 'AuthenticationFailed'],
      ['550 5.7.1 not authorized', 'PolicyRelated'],
      ['554 5.6.0 bad content', 'ContentRelated'],
      ['550 no enhanced code', 'Uncategorized'],
    ];
    for (const [reply, expected] of cases) expect([reply, c.classify(parseResponse(reply, 'RCPT TO'))]).toEqual([reply, expected]);
  });

  it('classify() is available to the SMTP client', async () => {
    expect(classify({ code: 550, enhanced_code: null, content: 'greylist' })).toBe('Uncategorized');
    await policyContext().eval(`kumo.configure_bounce_classifier { files = { '${FIRST}' } }`);
    expect(classify({ code: 550, enhanced_code: null, content: 'greylist' })).toBe('Greylisted');
  });

  it("KumoMTA's shipped iana.toml path reads kumo-lua's own rules when it is not installed", () => {
    expect(DEFAULT_RULES_FILE).toBe(DEFAULT_RULES);
    expect(rulesFileFor(KUMOMTA_RULES_FILE, () => false)).toBe(DEFAULT_RULES);
    expect(rulesFileFor(KUMOMTA_RULES_FILE, () => true)).toBe(KUMOMTA_RULES_FILE);
    expect(rulesFileFor('/elsewhere/iana.toml', () => false)).toBe('/elsewhere/iana.toml');
    const c = new BounceClassifier({ files: [KUMOMTA_RULES_FILE] });
    expect(c.classify(parseResponse('552 5.2.2 over quota', 'RCPT TO'))).toBe('QuotaIssues');
  });
});
