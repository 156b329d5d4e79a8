import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dkimSign } from 'mailauth';
import { checkDkim, dkimRecordForPrivateKey } from '../../src/testing/dkim-check.ts';

const MESSAGE = 'From: <a@example.com>\r\nTo: <b@example.net>\r\nSubject: hello\r\n\r\nbody\r\n';

async function signed(privateKey: string, algorithm?: string): Promise<string> {
  const { signatures } = await dkimSign(MESSAGE, { signatureData: [{ signingDomain: 'example.com', selector: 's1', privateKey, ...(algorithm ? { algorithm } : {}) }] } as never);
  return signatures + MESSAGE;
}

describe('checkDkim (the harness DKIM check)', () => {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const ed = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it('passes a good RSA signature given the private key file, fails a tampered body', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dkim-check-')), 'k.pem');
    fs.writeFileSync(file, rsa);
    const text = await signed(rsa);
    expect(await checkDkim(text, { 's1._domainkey.example.com': file })).toEqual([expect.objectContaining({ status: 'pass', domain: 'example.com', selector: 's1' })]);
    const tampered = await checkDkim(text.replace('body', 'BODY'), { 's1._domainkey.example.com': file });
    expect(tampered[0]!.status).not.toBe('pass');
  });

  it('accepts a TXT record text and Ed25519 keys', async () => {
    const text = await signed(ed, 'ed25519-sha256');
    expect(dkimRecordForPrivateKey(ed)).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(await checkDkim(text, { 's1._domainkey.example.com': dkimRecordForPrivateKey(ed) })).toEqual([expect.objectContaining({ status: 'pass' })]);
  });

  it('an unknown key fails the check rather than passing it', async () => {
    const text = await signed(rsa);
    const [r] = await checkDkim(text, {});
    expect(r!.status).not.toBe('pass');
  });

  it('an unsigned message gives no results', async () => {
    expect(await checkDkim(MESSAGE, {})).toEqual([]);
  });
});
