/**
 * msg:dkim_verify (lua-api-more.md §5.3): mailauth verifies, this file maps
 * its answers onto KumoMTA's vocabulary — one result per top-level
 * DKIM-Signature, only `pass`, `temperror` or `permerror` (a bad signature or
 * body hash is a permerror there, where mailauth says neutral/fail/policy).
 */
import { lazyRequire } from '../util/lazy-require.ts';
import type { DnsResolveFunction } from './dns-port.ts';
import type { AuthenticationResult } from './authentication-results.ts';
import { splitMessage } from './dkim-sign.ts';

const verifyModule = lazyRequire<typeof import('mailauth/lib/dkim/verify.js')>('mailauth/lib/dkim/verify.js');
const tools = lazyRequire<typeof import('mailauth/lib/tools.js').default>('mailauth/lib/tools.js');

/** KumoMTA stops collecting unparsable signatures after this many. */
const MAX_UNPARSABLE = 10;

interface MailauthDkimResult {
  signature?: string;
  status: { result: string; comment?: string | false; policy?: Record<string, string> };
}

const CR = 0x0d;
const LF = 0x0a;

/** True when every CR is followed by LF and every LF preceded by CR. */
export function hasOnlyCrlf(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) {
    if (data[i] === CR && data[i + 1] !== LF) return false;
    if (data[i] === LF && data[i - 1] !== CR) return false;
  }
  return true;
}

function dkimResult(result: string, props: Record<string, string>, reason?: string): AuthenticationResult {
  return reason === undefined ? { method: 'dkim', result, props } : { method: 'dkim', result, reason, props };
}

/** `b=` prefixes: 8 characters, 2 more at a time until no other signature shares them. */
export function shortSignatures(signatures: readonly string[]): string[] {
  return signatures.map((b, i) => {
    let len = Math.min(8, b.length);
    const others = signatures.filter((_, j) => j !== i);
    while (len < b.length && others.some((o) => o.startsWith(b.slice(0, len)))) len = Math.min(b.length, len + 2);
    return b.slice(0, len);
  });
}

type Tags = Record<string, string>;

function tagsOf(line: Buffer): Tags | undefined {
  try {
    const parsed = tools().parseDkimHeaders(line).parsed ?? {};
    const tags: Tags = {};
    for (const [k, v] of Object.entries(parsed)) if (v && v.value !== undefined) tags[k] = String(v.value).replace(/\s+/g, '');
    return tags.d && tags.s && tags.b && tags.bh && tags.a ? tags : undefined;
  } catch {
    return undefined;
  }
}

function propsOf(tags: Tags, shortB: string): Record<string, string> {
  const props: Record<string, string> = { 'header.d': tags.d!, 'header.i': `@${tags.d}`, 'header.a': tags.a!, 'header.s': tags.s!, 'header.b': shortB };
  if (tags.c) props['header.c'] = tags.c;
  if (tags.t) props['header.t'] = tags.t;
  if (tags.x) props['header.x'] = tags.x;
  return props;
}

function mapStatus(status: MailauthDkimResult['status'], props: Record<string, string>): AuthenticationResult {
  if (status.result === 'pass') return dkimResult('pass', props);
  const reason = status.comment || (status.policy ? Object.entries(status.policy).map(([k, v]) => `${k}=${v}`).join(' ') : status.result);
  return dkimResult(status.result === 'temperror' ? 'temperror' : 'permerror', props, reason);
}

export async function verifyDkim(data: Uint8Array, resolve: DnsResolveFunction, nowMs: number): Promise<AuthenticationResult[]> {
  const { headers } = splitMessage(data);
  const signatureLines = tools().parseHeaders(headers).parsed.filter((h) => h.key === 'dkim-signature').map((h) => h.line);
  if (signatureLines.length === 0) return [];
  if (!hasOnlyCrlf(data)) return [dkimResult('permerror', {}, 'message has bare CR or LF line endings; DKIM needs CRLF')];

  const verified = await verifyModule().dkimVerify(Buffer.from(data), { resolver: resolve as never, curTime: new Date(nowMs) });
  const pending = [...(verified.results as MailauthDkimResult[])];
  const parsed = signatureLines.map(tagsOf);
  const shortB = shortSignatures(parsed.map((t) => t?.b ?? ''));
  const out: AuthenticationResult[] = [];
  let unparsable = 0;
  for (const [i, tags] of parsed.entries()) {
    const at = tags ? pending.findIndex((r) => (r.signature ?? '').replace(/\s+/g, '') === tags.b) : -1;
    if (!tags || at < 0) {
      if (++unparsable > MAX_UNPARSABLE) break;
      out.push(dkimResult('permerror', {}, 'unparsable or unsupported DKIM-Signature'));
      continue;
    }
    const [match] = pending.splice(at, 1);
    out.push(mapStatus(match!.status, propsOf(tags, shortB[i]!)));
  }
  return out;
}
