/**
 * DMARC (RFC 7489) for kumo.dmarc.check_msg (lua-api-more.md §5.5): mailauth
 * finds the record (falling back to the organisational domain) and checks
 * alignment of the passing DKIM `d=` and SPF domains; this file turns that
 * into KumoMTA's disposition (`Pass`, `None`, `TempError`, `PermError`,
 * `Quarantine`, `Reject`) and result.
 *
 * The record's `pct=` is not sampled: a failing message always gets the
 * published policy.
 */
import { lazyRequire } from '../util/lazy-require.ts';
import type { DnsResolveFunction } from './dns-port.ts';
import type { AuthenticationResult } from './authentication-results.ts';

const dmarcModule = lazyRequire<typeof import('mailauth/lib/dmarc/index.js')>('mailauth/lib/dmarc/index.js');

export type DmarcDisposition = 'Pass' | 'None' | 'TempError' | 'PermError' | 'Quarantine' | 'Reject';

export interface DmarcOutcome {
  disposition: DmarcDisposition;
  result: AuthenticationResult;
}

export interface DmarcRequest {
  /** The single From: mailbox's domain, or why there is none. */
  from: { domain: string } | { problem: string };
  dkim: readonly AuthenticationResult[];
  spf?: AuthenticationResult;
}

interface MailauthDmarc {
  status: { result: string; comment?: string };
  policy?: string;
  error?: string;
}

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return domain === '' ? undefined : domain;
}

/** The domain an SPF pass vouches for: MAIL FROM's, else the HELO name. */
function spfDomains(spf: AuthenticationResult | undefined): string[] {
  if (spf?.result !== 'pass') return [];
  const domain = domainOf(spf.props['smtp.mailfrom']) ?? spf.props['smtp.helo'];
  return domain ? [domain] : [];
}

function dkimDomains(dkim: readonly AuthenticationResult[]): string[] {
  return dkim.flatMap((r) => (r.result === 'pass' && r.props['header.d'] ? [r.props['header.d']] : []));
}

function outcome(disposition: DmarcDisposition, reason: string, props: Record<string, string>): DmarcOutcome {
  const failed = disposition === 'Quarantine' || disposition === 'Reject';
  const result = failed ? 'fail' : disposition.toLowerCase();
  if (failed) props['policy.published-domain-policy'] = disposition.toLowerCase();
  return { disposition, result: { method: 'dmarc', result, reason, props } };
}

const POLICIES: Record<string, DmarcDisposition> = { none: 'None', quarantine: 'Quarantine', reject: 'Reject' };

export async function checkDmarc(request: DmarcRequest, resolve: DnsResolveFunction): Promise<DmarcOutcome> {
  if ('problem' in request.from) {
    return { disposition: 'None', result: { method: 'dmarc', result: 'None', reason: request.from.problem, props: {} } };
  }
  const domain = request.from.domain.toLowerCase();
  const props = { 'header.from': domain };
  const checked = (await dmarcModule().dmarc({
    headerFrom: domain,
    dkimDomains: dkimDomains(request.dkim).map((d) => ({ domain: d })),
    spfDomains: spfDomains(request.spf),
    resolver: resolve as never,
  })) as MailauthDmarc | false;
  if (!checked) return outcome('None', `no usable From domain`, props);
  switch (checked.status.result) {
    case 'temperror':
      return outcome('TempError', `DNS lookup of the DMARC record failed: ${checked.error ?? 'unknown error'}`, props);
    case 'none':
      return outcome('None', `no DMARC record found for ${domain}`, props);
    case 'pass':
      return outcome('Pass', `DKIM or SPF aligned with ${domain}`, props);
  }
  const policy = POLICIES[(checked.policy ?? '').trim().toLowerCase()];
  if (!policy) return outcome('PermError', `the DMARC record for ${domain} has no valid p= policy`, props);
  return outcome(policy, `neither DKIM nor SPF aligned with ${domain}`, props);
}
