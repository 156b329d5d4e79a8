import { afterEach, describe, expect, it } from 'vitest';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { arc } from 'mailauth/lib/arc/index.js';
import { withMessage, bytes, text } from '../message/lua-fixture.ts';
import { newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { ed25519Key, memoryResolver, rsaKey, type Zone } from './fixtures.ts';

const MAIL = 'From: alice@example.com\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello\r\n';
const START = Date.UTC(2026, 0, 1);
const key = rsaKey();
const ZONE: Zone = { 'arc._domainkey.relay.example': { TXT: [key.publicRecord] } };
const resolver = memoryResolver(ZONE);

afterEach(() => resetAuthResolverProvider());

function fixture(mail = MAIL) {
  setAuthResolverProvider(() => resolver);
  return withMessage({ data: bytes(mail) }, newLua({ clock: new VirtualClock(START) }));
}

const SIGNER = (pem = key.privatePem) =>
  `kumo.dkim.rsa_sha256_signer { domain = 'relay.example', selector = 'arc', headers = { 'From', 'To', 'Subject' }, key = { key_data = [[${pem}]] } }`;
const SEAL = `the_msg():arc_seal(${SIGNER()}, 'mx.relay.example', { { method = 'spf', result = 'pass', props = { ['smtp.mailfrom'] = 'alice@example.com' } } })`;
const VERIFY = `local r = the_msg():arc_verify(); return { r.method, r.result, r.reason or '' }`;

/** mailauth's own ARC validation of the bytes. */
async function mailauthArc(data: string) {
  const verified = await dkimVerify(Buffer.from(data, 'latin1'), { resolver: resolver as never, curTime: new Date(START) });
  const result = await arc((verified as unknown as { arc: Parameters<typeof arc>[0] }).arc, { resolver: resolver as never });
  return { result: result.status.result, i: result.i };
}

describe('msg:arc_verify / msg:arc_seal', () => {
  it('no ARC headers: none', async () => {
    expect(await fixture().eval(VERIFY)).toEqual(['arc', 'none', '']);
  });

  it('sealing prepends ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results (i=1, cv=none) that mailauth validates', async () => {
    const f = fixture();
    await f.eval(SEAL);
    const data = text(f.msg.getData());
    const names = data.split('\r\n').filter((l) => /^[A-Za-z-]+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    expect(names.slice(0, 3)).toEqual(['ARC-Seal', 'ARC-Message-Signature', 'ARC-Authentication-Results']);
    expect(data).toMatch(/^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=relay\.example;/);
    expect(data).toContain('ARC-Authentication-Results: i=1; mx.relay.example;\r\n\tspf=pass\r\n\tsmtp.mailfrom=\"alice@example.com\"\r\n');
    expect(data.endsWith(MAIL)).toBe(true);
    expect(await mailauthArc(data)).toEqual({ result: 'pass', i: 1 });
    expect(await f.eval(VERIFY)).toEqual(['arc', 'pass', '']);
  });

  it('a second hop extends the chain with cv=pass', async () => {
    const f = fixture();
    await f.eval(SEAL);
    await f.eval(SEAL);
    const data = text(f.msg.getData());
    expect(data).toMatch(/^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass;/);
    expect(await mailauthArc(data)).toEqual({ result: 'pass', i: 2 });
    expect(await f.eval(VERIFY)).toEqual(['arc', 'pass', '']);
  });

  it('a modified message fails with a reason, and arc_seal then leaves it alone', async () => {
    const f = fixture();
    await f.eval(SEAL);
    f.msg.setData(bytes(text(f.msg.getData()).replace('Subject: hi', 'Subject: changed')));
    const r = (await f.eval(VERIFY)) as string[];
    expect(r.slice(0, 2)).toEqual(['arc', 'fail']);
    expect(r[2]).toMatch(/no valid signature/);
    const before = text(f.msg.getData());
    await f.eval(SEAL);
    expect(text(f.msg.getData())).toBe(before);
  });

  it('an Ed25519 signer cannot seal', async () => {
    const f = fixture();
    await expect(f.eval(`the_msg():arc_seal(${SIGNER(ed25519Key().privatePem)}, 'mx', {})`)).rejects.toThrow(/rsa-sha256/);
  });
});
