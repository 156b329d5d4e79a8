/**
 * ARC (RFC 8617) for msg:arc_verify / msg:arc_seal (lua-api-more.md §5.6):
 * mailauth validates the chain (its DKIM verifier also checks the newest
 * ARC-Message-Signature) and builds the new set; this file shapes the result
 * and refuses to extend a broken chain.
 */
import { lazyRequire } from '../util/lazy-require.ts';
import type { DnsResolveFunction } from './dns-port.ts';
import { authenticationResultsValue, type AuthenticationResult } from './authentication-results.ts';
import type { DkimSigner } from './dkim-sign.ts';

const verifyModule = lazyRequire<typeof import('mailauth/lib/dkim/verify.js')>('mailauth/lib/dkim/verify.js');
const arcModule = lazyRequire<typeof import('mailauth/lib/arc/index.js')>('mailauth/lib/arc/index.js');

interface ArcCheck {
  result: AuthenticationResult;
  /** Instance number of the newest set (0 without a chain). */
  instance: number;
}

async function checkArc(data: Uint8Array, resolve: DnsResolveFunction, nowMs: number): Promise<ArcCheck> {
  const verified = await verifyModule().dkimVerify(Buffer.from(data), { resolver: resolve as never, curTime: new Date(nowMs) });
  const chain = (verified as unknown as { arc: Parameters<typeof import('mailauth/lib/arc/index.js').arc>[0] }).arc;
  const checked = await arcModule().arc(chain, { resolver: resolve as never });
  const status = checked.status as { result: string; comment?: string };
  const result: AuthenticationResult = { method: 'arc', result: status.result, props: {} };
  if (status.result === 'fail') result.reason = status.comment || 'the ARC chain does not validate';
  return { result, instance: typeof checked.i === 'number' ? checked.i : 0 };
}

export async function verifyArc(data: Uint8Array, resolve: DnsResolveFunction, nowMs: number): Promise<AuthenticationResult> {
  return (await checkArc(data, resolve, nowMs)).result;
}

export class ArcSealError extends Error {}

/**
 * The `ARC-Seal`, `ARC-Message-Signature`, `ARC-Authentication-Results`
 * lines to prepend, or undefined when the existing chain is broken (the
 * message is then left alone).
 */
export async function arcSealHeaders(
  data: Uint8Array,
  signer: DkimSigner,
  servId: string,
  results: readonly AuthenticationResult[],
  resolve: DnsResolveFunction,
  nowMs: number,
): Promise<string | undefined> {
  const check = await checkArc(data, resolve, nowMs);
  if (check.result.result === 'fail') return undefined;
  if (signer.algorithm !== 'rsa-sha256') throw new ArcSealError(`arc_seal: ARC sets are signed with rsa-sha256, but the signer holds an ${signer.key.asymmetricKeyType} key`);
  const sealed = await arcModule().createSeal(Buffer.from(data), {
    seal: {
      signingDomain: signer.spec.domain,
      selector: signer.spec.selector,
      privateKey: signer.key.export({ type: 'pkcs8', format: 'pem' }),
      algorithm: signer.algorithm,
      headerList: signer.spec.headers.join(':'),
      signTime: new Date(Math.floor(nowMs / 1000) * 1000),
      cv: check.instance === 0 ? 'none' : 'pass',
      authResults: authenticationResultsValue(servId, results),
    },
  });
  return `${sealed.headers.join('\r\n')}\r\n`;
}
