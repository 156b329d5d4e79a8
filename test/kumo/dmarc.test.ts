import { afterEach, describe, expect, it } from 'vitest';
import { withMessage, bytes } from '../message/lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { dnsError, resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { memoryResolver, rsaKey, type Zone } from '../auth/fixtures.ts';

const key = rsaKey();
const ZONE: Zone = {
  '_dmarc.strict.example': { TXT: ['v=DMARC1; p=reject; sp=quarantine'] },
  '_dmarc.soft.example': { TXT: ['v=DMARC1; p=quarantine'] },
  '_dmarc.watch.example': { TXT: ['v=DMARC1; p=none; rua=mailto:r@watch.example'] },
  '_dmarc.broken.example': { TXT: ['v=DMARC1; p=sometimes'] },
  's1._domainkey.strict.example': { TXT: [key.publicRecord] },
  'strict.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
};

afterEach(() => resetAuthResolverProvider());

function message(from: string) {
  setAuthResolverProvider(() => memoryResolver(ZONE));
  return withMessage(
    { sender: 'bounce@strict.example', data: bytes(`From: ${from}\r\nSubject: x\r\n\r\nbody\r\n`), meta: { received_from: '203.0.113.5:25' } },
    newLua({ clock: new VirtualClock(Date.UTC(2026, 0, 1)) }),
  );
}

const CHECK = (dkim: string, spf = 'nil') => `local r = kumo.dmarc.check_msg(the_msg(), ${dkim}, nil, ${spf}, false); return { r.disposition, r.result }`;
const DKIM_PASS = `{ { method = 'dkim', result = 'pass', props = { ['header.d'] = 'mail.strict.example' } } }`;

describe('kumo.dmarc.check_msg', () => {
  it('an aligned DKIM pass (relaxed: a subdomain d=) passes', async () => {
    const f = message('a@strict.example');
    expect(await f.eval(CHECK(DKIM_PASS))).toEqual(['Pass', { method: 'dmarc', result: 'pass', reason: 'DKIM or SPF aligned with strict.example', props: { 'header.from': 'strict.example' } }]);
  });

  it('nothing aligned: the published policy, result fail with policy.published-domain-policy', async () => {
    const f = message('a@strict.example');
    expect(await f.eval(CHECK('{}'))).toEqual([
      'Reject',
      { method: 'dmarc', result: 'fail', reason: 'neither DKIM nor SPF aligned with strict.example', props: { 'header.from': 'strict.example', 'policy.published-domain-policy': 'reject' } },
    ]);
    const other = `{ { method = 'dkim', result = 'pass', props = { ['header.d'] = 'elsewhere.example' } } }`;
    expect(((await message('a@soft.example').eval(CHECK(other))) as unknown[])[0]).toBe('Quarantine');
    // A subdomain without its own record gets the organisational sp=.
    expect(((await message('a@news.strict.example').eval(CHECK('{}'))) as unknown[])[0]).toBe('Quarantine');
    expect(await message('a@watch.example').eval(CHECK('{}'))).toMatchObject(['None', { result: 'none' }]);
    expect(await message('a@broken.example').eval(CHECK('{}'))).toMatchObject(['PermError', { result: 'permerror' }]);
  });

  it('no record is None; a DNS failure TempError', async () => {
    expect(await message('a@norecord.example').eval(CHECK('{}'))).toMatchObject(['None', { result: 'none', reason: 'no DMARC record found for norecord.example' }]);
    const f = message('a@strict.example');
    setAuthResolverProvider(() => async (name) => {
      throw dnsError('ESERVFAIL', name);
    });
    expect(await f.eval(CHECK('{}'))).toMatchObject(['TempError', { result: 'temperror' }]);
  });

  it('without a single plain From mailbox: disposition None, result None', async () => {
    expect(await message('a@strict.example, b@strict.example').eval(CHECK(DKIM_PASS))).toEqual([
      'None',
      { method: 'dmarc', result: 'None', reason: 'From header: is not a simple single address', props: {} },
    ]);
    const none = withMessage({ data: bytes('Subject: x\r\n\r\nbody\r\n') });
    expect(await none.eval(CHECK('{}'))).toMatchObject(['None', { result: 'None', reason: 'the message has no From header' }]);
  });

  it('end to end: dkim_verify and spf.check_msg results feed it', async () => {
    const f = message('a@strict.example');
    await f.eval(`the_msg():dkim_sign(kumo.dkim.rsa_sha256_signer { domain = 'strict.example', selector = 's1', headers = { 'From' }, key = { key_data = [[${key.privatePem}]] } })`);
    expect(await f.eval(`local m = the_msg(); local r = kumo.dmarc.check_msg(m, m:dkim_verify(), nil, kumo.spf.check_msg(m), false); return r.disposition`)).toBe('Pass');
    // SPF alone (the whole { disposition, result } or just the result) aligns too.
    const g = message('a@strict.example');
    g.msg.setMeta('received_from', '192.0.2.9:25');
    expect(await g.eval(`local m = the_msg(); return kumo.dmarc.check_msg(m, {}, nil, kumo.spf.check_msg(m), false).disposition`)).toBe('Pass');
    expect(await g.eval(`local m = the_msg(); return kumo.dmarc.check_msg(m, {}, nil, kumo.spf.check_msg(m).result, false).disposition`)).toBe('Pass');
  });

  it('use_reporting = true without reporting_info raises a 400 rejection', async () => {
    const f = message('a@strict.example');
    expect(await f.eval(`local ok, e = pcall(kumo.dmarc.check_msg, the_msg(), {}, nil, nil, true); return { ok, e.code }`)).toEqual([false, 400]);
    expect(await errorOf(f.eval(`kumo.dmarc.check_msg(the_msg(), {}, nil, nil, true, {})`))).toMatch(/reporting .* is not provided by kumo-lua/);
  });
});
