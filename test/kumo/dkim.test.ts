import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { withMessage, bytes, text } from '../message/lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { ed25519Key, memoryResolver, rsaKey, type TestKey } from '../auth/fixtures.ts';

const MAIL = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nHello Bob,\r\nsee you.\r\n';
const START = Date.UTC(2026, 0, 1);

function signerLua(fn: string, key: TestKey | string, extra = ''): string {
  const keyExpr = typeof key === 'string' ? JSON.stringify(key) : `{ key_data = [[${key.privatePem}]] }`;
  return `kumo.dkim.${fn} { domain = 'example.com', selector = 's1', headers = { 'From', 'To', 'Subject', 'Date' }, key = ${keyExpr} ${extra} }`;
}

async function signed(key: TestKey | string, opts: { fn?: string; extra?: string; mail?: string; clock?: VirtualClock } = {}) {
  const clock = opts.clock ?? new VirtualClock(START);
  const f = withMessage({ data: bytes(opts.mail ?? MAIL) }, newLua({ clock }));
  await f.eval(`the_msg():dkim_sign(${signerLua(opts.fn ?? 'rsa_sha256_signer', key, opts.extra)})`);
  return { f, data: text(f.msg.getData()), clock };
}

async function verify(data: string, key: TestKey, at = START) {
  const resolver = memoryResolver({ 's1._domainkey.example.com': { TXT: [key.publicRecord] } });
  const result = await dkimVerify(Buffer.from(data, 'latin1'), { resolver: resolver as never, curTime: new Date(at) });
  return result.results.map((r) => ({ result: r.status.result, comment: r.status.comment || '', a: (r as { algo?: string }).algo }));
}

function tag(data: string, name: string): string | undefined {
  const header = /^DKIM-Signature:(.*?)\r\n(?![ \t])/s.exec(data)?.[1]?.replace(/\s+/g, '');
  return header?.split(';').find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1);
}

describe('kumo.dkim signers and msg:dkim_sign', () => {
  it('prepends exactly one DKIM-Signature at the top that mailauth verifies (RSA, PKCS#8 and PKCS#1 PEM)', async () => {
    for (const key of [rsaKey('pkcs8'), rsaKey('pkcs1')]) {
      const { data } = await signed(key);
      expect(data.startsWith('DKIM-Signature: ')).toBe(true);
      expect(data.match(/^DKIM-Signature:/gim)).toHaveLength(1);
      expect(data.endsWith(MAIL)).toBe(true);
      expect(await verify(data, key)).toEqual([{ result: 'pass', comment: '', a: 'rsa-sha256' }]);
      expect(tag(data, 'd')).toBe('example.com');
      expect(tag(data, 's')).toBe('s1');
      expect(tag(data, 'c')).toBe('relaxed/relaxed');
      expect(tag(data, 't')).toBe(String(START / 1000));
    }
  });

  it('a change to the body after signing no longer verifies', async () => {
    const key = rsaKey();
    const { data } = await signed(key);
    expect((await verify(data.replace('see you', 'see You'), key))[0]!.result).not.toBe('pass');
  });

  it('Ed25519 keys sign ed25519-sha256, whichever of the two names is called (PEM and DER from a file)', async () => {
    const key = ed25519Key();
    for (const fn of ['ed25519_signer', 'rsa_sha256_signer']) {
      const { data } = await signed(key, { fn });
      expect(await verify(data, key)).toEqual([{ result: 'pass', comment: '', a: 'ed25519-sha256' }]);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'dkim-'));
    const der = path.join(dir, 'ed.der');
    writeFileSync(der, key.privateKey.export({ type: 'pkcs8', format: 'der' }));
    expect(await verify((await signed(der, { fn: 'ed25519_signer' })).data, key)).toEqual([{ result: 'pass', comment: '', a: 'ed25519-sha256' }]);
    const rsa = rsaKey();
    expect(tag((await signed(rsa, { fn: 'ed25519_signer' })).data, 'a')).toBe('rsa-sha256');
  });

  it('lists configured headers the message lacks, and over_sign lists present ones once more', async () => {
    const key = rsaKey();
    const plain = await signed(key, { extra: ", headers = { 'From', 'To', 'List-Id' }" });
    expect(tag(plain.data, 'h')).toBe('From:To:List-Id');
    expect(await verify(plain.data, key)).toMatchObject([{ result: 'pass' }]);

    const mail = MAIL.replace('To: bob', 'To: carol@example.net\r\nTo: bob');
    const over = await signed(key, { mail, extra: ", over_sign = true, headers = { 'From', 'To', 'List-Id' }" });
    expect(tag(over.data, 'h')).toBe('From:From:To:To:To:List-Id');
    expect(await verify(over.data, key)).toMatchObject([{ result: 'pass' }]);
    // The extra listing is what makes an added header break the signature.
    const inject = (data: string) => `To: mallory@evil.test\r\n${data}`;
    const injected = inject(over.data);
    expect((await verify(injected, key))[0]!.result).not.toBe('pass');
    const notOver = await signed(key, { mail, extra: ", headers = { 'From', 'To' }" });
    expect((await verify(inject(notOver.data), key))[0]!.result).toBe('pass');
  });

  it('honours Simple canonicalisation and expiration', async () => {
    const key = rsaKey();
    const { data } = await signed(key, { extra: ", header_canonicalization = 'Simple', body_canonicalization = 'Simple', expiration = 3600" });
    expect(tag(data, 'c')).toBe('simple/simple');
    expect(Number(tag(data, 'x'))).toBe(START / 1000 + 3600);
    expect(await verify(data, key)).toMatchObject([{ result: 'pass' }]);
    expect(await verify(data, key, START + 7200_000)).toMatchObject([{ result: 'neutral', comment: 'expired' }]);
    await expect(signed(key, { extra: ", header_canonicalization = 'relaxed'" })).rejects.toThrow(/unknown variant `relaxed`, expected `Relaxed` or `Simple`/);
  });

  it('body_length = true and other unsupported options raise; unknown keys like atf are ignored', async () => {
    const key = rsaKey();
    const t = newLua();
    expect(await errorOf(t.eval(`return ${signerLua('rsa_sha256_signer', key, ', body_length = true')}`))).toMatch(/body_length is not currently supported/);
    expect(await errorOf(t.eval(`return ${signerLua('rsa_sha256_signer', key, ", atps = 'x.test'")}`))).toMatch(/atps is not currently supported/);
    expect(await t.eval(`return type(${signerLua('rsa_sha256_signer', key, ', body_length = false, atf = true')})`)).toBe('userdata');
    expect(await errorOf(t.eval(`return kumo.dkim.rsa_sha256_signer { selector = 's', headers = {}, key = 'x' }`))).toMatch(/missing field `domain`/);
    expect(await errorOf(t.eval(`return kumo.dkim.rsa_sha256_signer { domain = 'd', selector = 's', key = 'x' }`))).toMatch(/missing field `headers`/);
    // The key material never appears in the error text.
    const leaked = await errorOf(t.eval(`return ${signerLua('rsa_sha256_signer', key, ", expiration = 'soon'")}`));
    expect(leaked).toMatch(/expiration.*"key":"<redacted>"/);
    expect(leaked).not.toContain('PRIVATE KEY');
  });

  it('a key that cannot be loaded raises naming its KeySource', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`return ${signerLua('rsa_sha256_signer', '/nonexistent/dkim.key')}`))).toMatch(/\/nonexistent\/dkim\.key/);
    expect(await errorOf(t.eval(`return kumo.dkim.rsa_sha256_signer { domain = 'd', selector = 's', headers = {}, key = { key_data = 'not a key' } }`))).toMatch(
      /key_data.*not an RSA or Ed25519 private key/,
    );
  });

  it('caches the signer and its key for ttl on the context clock', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dkim-'));
    const file = path.join(dir, 'k.pem');
    const first = rsaKey();
    const second = rsaKey();
    writeFileSync(file, first.privatePem);
    const clock = new VirtualClock(START);
    const f = withMessage({ data: bytes(MAIL) }, newLua({ clock }));
    const sign = async () => {
      f.msg.setData(bytes(MAIL));
      await f.eval(`the_msg():dkim_sign(${signerLua('rsa_sha256_signer', file, ", ttl = '10s'")})`);
      return text(f.msg.getData());
    };
    expect(await verify(await sign(), first)).toMatchObject([{ result: 'pass' }]);
    writeFileSync(file, second.privatePem);
    expect(await verify(await sign(), first, clock.now())).toMatchObject([{ result: 'pass' }]);
    await clock.advance(11_000);
    expect(await verify(await sign(), second, clock.now())).toMatchObject([{ result: 'pass' }]);
  });
});
