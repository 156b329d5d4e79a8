/**
 * DKIM signing (RFC 6376 / RFC 8463) with mailauth's canonicalisation and
 * header formatting. mailauth's own signer picks the signed headers itself
 * (only those present, never over-signed), while KumoMTA lists exactly the
 * configured names — missing ones too — and can over-sign; so the `h=` list is
 * built here and mailauth's header canonicaliser hashes the instances it names.
 */
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { lazyRequire } from '../util/lazy-require.ts';
import { parseHeaderBlock } from '../message/headers.ts';

const tools = lazyRequire<typeof import('mailauth/lib/tools.js').default>('mailauth/lib/tools.js');
const bodyModule = lazyRequire<typeof import('mailauth/lib/dkim/body/index.js').default>('mailauth/lib/dkim/body/index.js');
const headerModule = lazyRequire<typeof import('mailauth/lib/dkim/header/index.js').default>('mailauth/lib/dkim/header/index.js');

export type Canonicalization = 'relaxed' | 'simple';

export interface DkimSignerSpec {
  domain: string;
  selector: string;
  /** Header names in `h=` order, as configured. */
  headers: readonly string[];
  headerCanonicalization: Canonicalization;
  bodyCanonicalization: Canonicalization;
  /** Seconds after the signing time for `x=`. */
  expirationSeconds?: number;
  /** A header present N times is listed N+1 times, so nobody can add another. */
  overSign: boolean;
}

export interface DkimSigner {
  spec: DkimSignerSpec;
  key: KeyObject;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
}

export class DkimKeyError extends Error {}

/** A private key from PEM (PKCS#1 or PKCS#8) or DER (PKCS#8, PKCS#1 RSA); `source` names it in errors. */
export function loadSigningKey(bytes: Uint8Array, source: string): KeyObject {
  const buf = Buffer.from(bytes);
  const attempts: Array<() => KeyObject> = buf.includes('-----BEGIN')
    ? [() => createPrivateKey({ key: buf, format: 'pem' })]
    : [() => createPrivateKey({ key: buf, format: 'der', type: 'pkcs8' }), () => createPrivateKey({ key: buf, format: 'der', type: 'pkcs1' })];
  let lastError: unknown;
  for (const attempt of attempts) {
    try {
      const key = attempt();
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ed25519') {
        throw new DkimKeyError(`${source}: a ${key.asymmetricKeyType} key cannot sign DKIM (RSA or Ed25519 only)`);
      }
      return key;
    } catch (err) {
      if (err instanceof DkimKeyError) throw err;
      lastError = err;
    }
  }
  throw new DkimKeyError(`${source}: not an RSA or Ed25519 private key (${(lastError as Error).message})`);
}

export function makeSigner(spec: DkimSignerSpec, key: KeyObject): DkimSigner {
  return { spec, key, algorithm: key.asymmetricKeyType === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256' };
}

interface SplitMessage {
  headers: Buffer;
  body: Buffer;
}

/** The header block (without the blank line) and the body, as mailauth wants them. */
export function splitMessage(data: Uint8Array): SplitMessage {
  const block = parseHeaderBlock(data);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { headers: buf.subarray(0, block.headerEnd), body: buf.subarray(block.bodyStart) };
}

/** `h=` names: each configured name once, or (over-signing) once more than the message has it. */
export function signedHeaderNames(spec: DkimSignerSpec, present: ReadonlyArray<string | null>): string[] {
  if (!spec.overSign) return [...spec.headers];
  const counts = new Map<string, number>();
  for (const key of present) if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  return spec.headers.flatMap((name) => Array<string>((counts.get(name.toLowerCase()) ?? 0) + 1).fill(name));
}

export function bodyHash(body: Buffer, canonicalization: Canonicalization): string {
  const hasher = bodyModule().dkimBody(canonicalization, 'sha256', false);
  hasher.update(body);
  return hasher.digest('base64');
}

/** The `DKIM-Signature: ...\r\n` line (folded) for the data as it is now. */
export function dkimSignatureHeader(data: Uint8Array, signer: DkimSigner, nowMs: number): string {
  const { spec } = signer;
  const { headers, body } = splitMessage(data);
  const parsed = tools().parseHeaders(headers).parsed;
  const names = signedHeaderNames(spec, parsed.map((h) => h.key));
  // In verify mode mailauth takes, per listed name, the next instance from the bottom up.
  const selected = tools().getSigningHeaderLines(parsed, names.join(':'), true);
  const signTime = Math.floor(nowMs / 1000) * 1000;
  const { canonicalizedHeader, dkimHeaderOpts } = headerModule().generateCanonicalizedHeader(
    'DKIM',
    { keys: names.join(':'), headers: selected.headers },
    {
      signingDomain: spec.domain,
      selector: spec.selector,
      algorithm: signer.algorithm,
      canonicalization: `${spec.headerCanonicalization}/${spec.bodyCanonicalization}`,
      bodyHash: bodyHash(body, spec.bodyCanonicalization),
      signTime: new Date(signTime),
      expires: spec.expirationSeconds === undefined ? undefined : new Date(signTime + spec.expirationSeconds * 1000),
    },
  );
  const signature =
    signer.algorithm === 'rsa-sha256'
      ? sign('rsa-sha256', canonicalizedHeader, signer.key)
      : sign(null, createHash('sha256').update(canonicalizedHeader).digest(), signer.key);
  const line = tools().formatSignatureHeaderLine('DKIM', { ...dkimHeaderOpts, b: signature.toString('base64') }, true);
  return `${line}\r\n`;
}
