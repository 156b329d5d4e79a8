/**
 * Checks DKIM signatures with mailauth's verifier (not kumo-lua's signer),
 * so a policy test proves that what the policy signed verifies elsewhere.
 * Public keys come from the test: a TXT record text, or the private key file
 * the policy signs with (its public half is published for the check).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { lazyRequire } from '../util/lazy-require.ts';

const mailauth = lazyRequire<typeof import('mailauth')>('mailauth');

export interface DkimCheck {
  /** `pass`, `fail`, `neutral`, `none`, `temperror`, `permerror` (mailauth's words). */
  status: string;
  domain: string;
  selector: string;
  comment?: string;
}

/** `v=DKIM1; k=...; p=...` for a PEM private key (RSA or Ed25519). */
export function dkimRecordForPrivateKey(pem: string): string {
  const pub = crypto.createPublicKey(crypto.createPrivateKey(pem));
  const der = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

/**
 * `keys`: `<selector>._domainkey.<domain>` => a DKIM TXT record (`v=DKIM1; ...`)
 * or the path of a PEM private key file.
 */
export async function checkDkim(message: string | Uint8Array, keys: Record<string, string>): Promise<DkimCheck[]> {
  const records = new Map<string, string>();
  for (const [name, value] of Object.entries(keys)) {
    records.set(name.toLowerCase(), /^v=DKIM1/i.test(value.trim()) ? value : dkimRecordForPrivateKey(fs.readFileSync(value, 'utf8')));
  }
  const resolver = async (name: string, type: string): Promise<string[][]> => {
    const record = type === 'TXT' ? records.get(name.toLowerCase().replace(/\.$/, '')) : undefined;
    if (record === undefined) throw Object.assign(new Error(`no ${type} record for ${name} in the test's DKIM keys`), { code: 'ENOTFOUND' });
    return [[record]];
  };
  const input = typeof message === 'string' ? Buffer.from(message) : Buffer.from(message);
  const result = await mailauth().dkimVerify(input, { resolver } as Parameters<typeof import('mailauth').dkimVerify>[1]);
  // mailauth reports an unsigned message as one `none` result without a selector: no signatures.
  return result.results.filter((r) => r.selector !== undefined || r.status.result !== 'none').map((r) => ({
    status: r.status.result,
    domain: r.signingDomain,
    selector: r.selector ?? '',
    ...(r.status.comment ? { comment: r.status.comment } : {}),
  }));
}
