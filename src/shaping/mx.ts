/**
 * MX answers for the shaping loader: `mx_rollup` files a domain's block under
 * its MX site name, and provider `MXSuffix`/`HostName` rules test the MX hosts.
 * By default kumo.dns answers (its configured or test resolver); the service
 * slot lets unit tests supply a fixed table instead.
 */
import { resolveMx } from '../dns/mx.ts';
import type { DnsService } from '../dns/service.ts';
import { ServiceSlot } from '../kumo/context.ts';

export interface MxAnswer {
  /** Hosts by preference then name, lower-case, trailing dot stripped; `.` for a null MX. */
  hosts: string[];
  /** KumoMTA's compact rendering of the hosts (lua-api-more §4.2). */
  siteName: string;
}

export type MxResolver = (domain: string) => Promise<MxAnswer>;

export const SHAPING_MX_RESOLVER = new ServiceSlot<MxResolver>('the MX resolver used by kumo.shaping');

/**
 * `mx1.mail.test` + `mx2.mail.test` ⇒ `(mx1|mx2).mail.test`: labels aligned
 * from the right, distinct labels per position in first-seen order, `?` when
 * some host has no label at that position.
 */
export function siteNameOf(hosts: readonly string[]): string {
  const split = hosts.map((h) => h.replace(/:\d+$/, '').replace(/\.$/, '')).filter((h) => h !== '').map((h) => h.split('.').reverse());
  if (split.length === 0) return '';
  const depth = Math.max(...split.map((labels) => labels.length));
  const positions: string[] = [];
  for (let i = 0; i < depth; i++) {
    const labels: string[] = [];
    let missing = false;
    for (const host of split) {
      const label = host[i];
      if (label === undefined) missing = true;
      else if (!labels.includes(label)) labels.push(label);
    }
    const text = labels.length === 1 ? labels[0]! : `(${labels.join('|')})`;
    positions.push(missing ? `${text}?` : text);
  }
  return positions.reverse().join('.');
}

/** Orders MX records like KumoMTA: by preference, then host name. */
export function mxAnswer(records: readonly { exchange: string; priority: number }[], domain: string): MxAnswer {
  if (records.length === 0) {
    const host = domain.toLowerCase().replace(/\.$/, '');
    return { hosts: [host], siteName: siteNameOf([host]) };
  }
  const sorted = [...records]
    .map((r) => ({ host: r.exchange === '' || r.exchange === '.' ? '.' : r.exchange.toLowerCase().replace(/\.$/, ''), pref: r.priority }))
    .sort((a, b) => a.pref - b.pref || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const hosts = sorted.map((r) => r.host);
  return { hosts, siteName: siteNameOf(hosts) };
}

/**
 * MX answers from kumo.dns's resolver (lua-api-more §4.2): the same lookups,
 * cache and site names as `kumo.dns.lookup_mx`, so a policy's
 * `kumo.dns.configure_test_resolver` (and the test harness's mock MXs) answer
 * the shaping loader too, as they do in KumoMTA.
 */
export function dnsMxResolver(dns: () => DnsService): MxResolver {
  return async (domain) => {
    const mx = await resolveMx(domain, undefined, dns());
    return { hosts: mx.hosts.map((h) => (h === '.' ? '.' : h.replace(/\.$/, ''))), siteName: mx.site_name };
  };
}
