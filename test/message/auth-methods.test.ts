import { afterEach, describe, expect, it } from 'vitest';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { dnsError, resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { shortSignatures } from '../../src/auth/dkim-verify.ts';
import { memoryResolver, rsaKey, type Zone } from '../auth/fixtures.ts';

const MAIL = 'From: alice@example.com\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello\r\n';
const START = Date.UTC(2026, 0, 1);
const key = rsaKey();
const ZONE: Zone = { 's1._domainkey.example.com': { TXT: [key.publicRecord] } };

afterEach(() => resetAuthResolverProvider());

/** A message signed by our signer (verified independently in test/kumo/dkim.test.ts). */
async function signedFixture(mail = MAIL, zone: Zone = ZONE) {
  setAuthResolverProvider(() => memoryResolver(zone));
  const f = withMessage({ data: bytes(mail) }, newLua({ clock: new VirtualClock(START) }));
  await f.eval(`the_msg():dkim_sign(kumo.dkim.rsa_sha256_signer { domain = 'example.com', selector = 's1', headers = { 'From', 'Subject' }, key = { key_data = [[${key.privatePem}]] } })`);
  return f;
}

const VERIFY = `
  local out = {}
  for i, r in ipairs(the_msg():dkim_verify()) do out[i] = { r.method, r.result, r.reason or '', r.props['header.d'] or '', r.props['header.b'] or '' } end
  return out`;

describe('msg:dkim_verify', () => {
  it('an unsigned message gives an empty list', async () => {
    const f = withMessage({ data: bytes(MAIL) });
    expect(await f.eval(`local r = the_msg():dkim_verify(); return { type(r), #r, next(r) == nil }`)).toEqual(['table', 0, true]);
  });

  it('a good signature passes with the header.* props', async () => {
    const f = await signedFixture();
    const r = (await f.eval(`local r = the_msg():dkim_verify()[1]; return { r.method, r.result, r.reason == nil, r.props }`)) as unknown[];
    const b = /b=([A-Za-z0-9+/]{8})/.exec(text(f.msg.getData()).replace(/\r\n\s+/g, ''))![1];
    expect(r.slice(0, 3)).toEqual(['dkim', 'pass', true]);
    expect(r[3]).toEqual({
      'header.d': 'example.com',
      'header.i': '@example.com',
      'header.a': 'rsa-sha256',
      'header.s': 's1',
      'header.c': 'relaxed/relaxed',
      'header.t': String(START / 1000),
      'header.b': b,
    });
  });

  it('a tampered body or header is permerror, never fail', async () => {
    const f = await signedFixture();
    f.msg.setData(bytes(text(f.msg.getData()).replace('Hello', 'Goodbye')));
    expect(await f.eval(VERIFY)).toEqual([['dkim', 'permerror', 'body hash did not verify', 'example.com', expect.any(String)]]);
    const g = await signedFixture();
    g.msg.setData(bytes(text(g.msg.getData()).replace('Subject: hi', 'Subject: HI')));
    expect(await g.eval(VERIFY)).toEqual([['dkim', 'permerror', 'bad signature', 'example.com', expect.any(String)]]);
  });

  it('bare LF line endings give one permerror without verifying', async () => {
    const f = await signedFixture(MAIL.replace(/\r\n/g, '\n'));
    const r = (await f.eval(VERIFY)) as string[][];
    expect(r).toHaveLength(1);
    expect(r[0]!.slice(0, 2)).toEqual(['dkim', 'permerror']);
    expect(r[0]![2]).toMatch(/bare CR or LF/);
  });

  it('a missing key is permerror, a failing DNS lookup temperror, an unparsable signature permerror', async () => {
    const f = await signedFixture(MAIL, {});
    expect(((await f.eval(VERIFY)) as string[][])[0]!.slice(0, 3)).toEqual(['dkim', 'permerror', 'no key']);
    setAuthResolverProvider(() => async (name) => {
      throw dnsError('ESERVFAIL', name);
    });
    expect(((await f.eval(VERIFY)) as string[][])[0]!.slice(0, 2)).toEqual(['dkim', 'temperror']);
    f.msg.setData(bytes(`DKIM-Signature: v=1; nonsense\r\n${text(f.msg.getData())}`));
    setAuthResolverProvider(() => memoryResolver({}));
    expect(((await f.eval(VERIFY)) as string[][]).map((r) => r[1])).toEqual(['permerror', 'permerror']);
  });

  it('header.b prefixes grow by two until unique', () => {
    expect(shortSignatures(['abcdefghXYZ', 'abcdefghijk', 'zzzzzzzzzzzz'])).toEqual(['abcdefghXY', 'abcdefghij', 'zzzzzzzz']);
  });
});

describe('msg:add_authentication_results', () => {
  it("'mx.test', {} prepends Authentication-Results: mx.test; none", async () => {
    const f = withMessage({ data: bytes(MAIL) });
    await f.eval(`the_msg():add_authentication_results('mx.test', {})`);
    expect(text(f.msg.getData())).toBe(`Authentication-Results: mx.test; none\r\n${MAIL}`);
  });

  it('takes dkim_verify results back; an extra key in a result raises and changes nothing', async () => {
    const f = await signedFixture();
    await f.eval(`local m = the_msg(); m:add_authentication_results('mx.test', m:dkim_verify())`);
    expect(text(f.msg.getData())).toMatch(/^Authentication-Results: mx\.test;\r\n\tdkim=pass\r\n\theader\.a=rsa-sha256\r\n\theader\.b=/);
    const before = text(f.msg.getData());
    expect(await errorOf(f.eval(`the_msg():add_authentication_results('mx.test', { { method = 'spf', result = 'pass', extra = 1 } })`))).toMatch(/unknown field `extra`/);
    expect(text(f.msg.getData())).toBe(before);
  });
});
