/**
 * SPF check_host() (RFC 7208) for kumo.spf (lua-api-more.md §5.4). mailauth's
 * evaluator does the record walk and macros; it is called directly (not via
 * its `spf()` wrapper) because the wrapper drops which directive matched, and
 * KumoMTA reports that ("matched 'all' directive") or the `exp=` explanation
 * as the result's reason. The lookup limits of RFC 7208 §4.6.4 are enforced by
 * the resolver handed to it, as mailauth's wrapper does.
 */
import ipaddr from 'ipaddr.js';
import { lazyRequire } from '../util/lazy-require.ts';
import type { DnsResolveFunction } from './dns-port.ts';
import type { AuthenticationResult } from './authentication-results.ts';

const spfVerifyModule = lazyRequire<typeof import('mailauth/lib/spf/spf-verify.js').default>('mailauth/lib/spf/spf-verify.js');
const macroModule = lazyRequire<typeof import('mailauth/lib/spf/macro.js').default>('mailauth/lib/spf/macro.js');

export type SpfDisposition = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror';

export interface SpfOutcome {
  disposition: SpfDisposition;
  result: AuthenticationResult;
}

export interface SpfRequest {
  /** The domain whose policy is checked. */
  domain: string;
  clientIp: string;
  /** MAIL FROM; absent for a HELO identity check. */
  sender?: string;
  /** The HELO/EHLO name, when known. */
  helo?: string;
  /** This host's name (the `%{r}` macro). */
  relayingHost?: string;
}

const MAX_LOOKUPS = 10;
const MAX_VOID_LOOKUPS = 2;
const QUALIFIERS: Record<string, SpfDisposition> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

interface SpfError extends Error {
  code?: string;
  spfResult?: { error: string; text?: string };
}

interface LimitedResolver {
  (name: string, rrtype: string): Promise<unknown>;
  getResolveCount(): number;
  getVoidCount(): number;
  updateSubQueries(): void;
}

function spfFailure(error: string, text: string, cause?: SpfError): SpfError {
  const err: SpfError = cause ?? new Error(text);
  err.spfResult = { error, text };
  return err;
}

/** Counts DNS-querying terms (the record fetch itself excepted) and void answers. */
function limitedResolver(resolve: DnsResolveFunction, countFirst: boolean): LimitedResolver {
  let lookups = 0;
  let voids = 0;
  let first = !countFirst;
  const fn = (async (name: string, rrtype: string) => {
    if (first) first = false;
    else if (++lookups > MAX_LOOKUPS) throw spfFailure('permerror', 'too many DNS lookups');
    try {
      return await resolve(name, rrtype);
    } catch (e) {
      const err = e as SpfError;
      if (err.code === 'ENOTFOUND' || err.code === 'ENODATA') {
        if (++voids > MAX_VOID_LOOKUPS) throw spfFailure('permerror', 'too many void DNS lookups', err);
        return [];
      }
      throw spfFailure('temperror', `DNS lookup of ${name} (${rrtype}) failed: ${err.code ?? err.message}`, err);
    }
  }) as LimitedResolver;
  fn.getResolveCount = () => lookups;
  fn.getVoidCount = () => voids;
  fn.updateSubQueries = () => undefined;
  return fn;
}

interface Matched {
  /** Set instead of a qualifier when an include failed. */
  error?: string;
  text?: string;
  type?: string;
  val?: string;
  qualifier?: string;
  rr?: string;
}

function directiveText(m: Matched): string {
  return m.type === 'all' || !m.val ? String(m.type) : `${m.type}:${m.val}`;
}

/** The `exp=` explanation of a fail (RFC 7208 §6.2), or undefined when absent or unusable. */
async function explanation(rr: string | undefined, resolve: DnsResolveFunction, values: Record<string, string | undefined>): Promise<string | undefined> {
  const term = rr?.split(/\s+/).find((t) => t.toLowerCase().startsWith('exp='));
  if (!term) return undefined;
  try {
    const target = (macroModule()(term.slice(4), values) as string).replace(/\.$/, '');
    const answers = (await resolve(target, 'TXT')) as string[][];
    if (answers.length !== 1) return undefined;
    return macroModule()(answers[0]!.join(''), values) as string;
  } catch {
    return undefined;
  }
}

function outcome(disposition: SpfDisposition, reason: string, request: SpfRequest): SpfOutcome {
  const props: Record<string, string> = {};
  if (request.sender !== undefined) props['smtp.mailfrom'] = request.sender;
  if (request.helo) props['smtp.helo'] = request.helo;
  return { disposition, result: { method: 'spf', result: disposition, reason, props } };
}

function failed(failure: { error: string; text?: string }, request: SpfRequest): SpfOutcome {
  const disposition: SpfDisposition = failure.error === 'none' || failure.error === 'permerror' ? failure.error : 'temperror';
  return outcome(disposition, failure.text ?? disposition, request);
}

export async function checkSpf(request: SpfRequest, resolve: DnsResolveFunction): Promise<SpfOutcome> {
  if (!ipaddr.isValid(request.clientIp)) throw new Error(`spf: ${JSON.stringify(request.clientIp)} is not an IP address`);
  const domain = request.domain.toLowerCase().replace(/\.$/, '');
  const local = request.sender?.includes('@') ? request.sender.slice(0, request.sender.lastIndexOf('@')) : 'postmaster';
  const values = {
    sender: `${local}@${domain}`,
    ip: ipaddr.process(request.clientIp).toString(),
    helo: request.helo ?? domain,
    mta: request.relayingHost ?? 'unknown',
  };
  let matched: Matched | false;
  try {
    matched = (await spfVerifyModule().spfVerify(domain, {
      ...values,
      resolver: limitedResolver(resolve, false),
      createSubResolver: () => limitedResolver(resolve, true),
    })) as Matched | false;
  } catch (e) {
    const err = e as SpfError;
    return failed(err.spfResult ?? { error: 'temperror', text: err.message }, request);
  }
  if (matched && matched.error) return failed({ error: matched.error, text: matched.text }, request);
  if (!matched || !matched.qualifier) return outcome('neutral', 'default result', request);
  const disposition = QUALIFIERS[matched.qualifier] ?? 'neutral';
  if (!matched.type) return outcome(disposition, 'default result', request);
  const exp = disposition === 'fail' ? await explanation(matched.rr, resolve, values) : undefined;
  return outcome(disposition, exp ?? `matched '${directiveText(matched)}' directive`, request);
}
