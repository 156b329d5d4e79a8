/**
 * MX resolution (lua-api-more §4.2, smtp-delivery §1.3–§1.5): literals
 * without DNS, implicit MX, null MX, preference buckets, MTA-STS pruning and
 * the site name. Default-resolver results are cached on the service.
 */
import { mtaStsAllows } from './mta-sts.ts';
import { normalizeDomain, parseDomainLiteral, splitPort, withPort } from './names.ts';
import { processDns, type DnsService } from './service.ts';
import { siteName } from './site-name.ts';
import { DnsQueryError } from './types.ts';

export type MtaStsOutcome = 'None' | 'Testing' | 'Enforce';

/** The result of `resolveMx`; field names are those of `kumo.dns.lookup_mx`. */
export interface MxResolution {
  /** The queried FQDN with trailing dot (a literal: the input as given). */
  domain_name: string;
  /** Preference → hosts sorted by name; numeric keys iterate ascending. */
  by_pref: Record<number, string[]>;
  /** Every host by preference then name; lower-case FQDN with trailing dot, `:port` appended if given. */
  hosts: string[];
  site_name: string;
  is_domain_literal: boolean;
  /** False for literals and implicit MX. */
  is_mx: boolean;
  /** Every answer was DNSSEC-validated. */
  is_secure: boolean;
  mta_sts: MtaStsOutcome;
  /** When a cached copy of this result stops being valid (clock ms). */
  expires_at_ms: number;
}

export class MxResolutionError extends Error {}

/** Rust's `Debug` rendering of a short Duration, as KumoMTA's error text shows it. */
function formatElapsed(ms: number): string {
  if (ms <= 0) return '0ns';
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const debugList = (items: readonly string[]): string => `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;

function fromLiteral(input: string, address: string, port: number | null, now: number): MxResolution {
  const host = withPort(address, port);
  return {
    domain_name: input, by_pref: { 1: [host] }, hosts: [host], site_name: host,
    is_domain_literal: true, is_mx: false, is_secure: false, mta_sts: 'None', expires_at_ms: now + 3_600_000,
  };
}

async function queryMx(dns: DnsService, fqdn: string, port: number | null, resolverName: string | undefined): Promise<MxResolution> {
  const resolver = dns.resolver(resolverName);
  const started = dns.clock.now();
  const fail = (why: string): never => {
    throw new MxResolutionError(`MX lookup for ${fqdn} failed after ${formatElapsed(dns.clock.now() - started)}: ${why}`);
  };
  let answer;
  try {
    answer = await dns.limitMxQuery(`MX lookup for ${fqdn}`, () => resolver.query(fqdn, 'MX'));
  } catch (err) {
    return fail(err instanceof DnsQueryError ? err.reason : (err as Error).message);
  }
  if (answer.nxdomain) fail('NXDOMAIN');
  const now = dns.clock.now();
  const buckets = new Map<number, string[]>();
  for (const r of answer.records) {
    if (r.type !== 'MX') continue;
    const host = withPort(r.exchange === '.' ? '.' : normalizeDomain(r.exchange), port);
    const list = buckets.get(r.preference) ?? [];
    if (!list.includes(host)) list.push(host);
    buckets.set(r.preference, list);
  }
  const isMx = buckets.size > 0;
  if (!isMx) buckets.set(1, [withPort(fqdn, port)]);
  // Ascending preference, names sorted inside a bucket (stabilises the site name).
  const ordered = [...buckets.keys()].sort((a, b) => a - b).map((pref) => [pref, buckets.get(pref)!.sort()] as const);
  buckets.clear();
  for (const [pref, hosts] of ordered) buckets.set(pref, hosts);
  let expiresAt = now + answer.ttlSecs * 1000;

  let mtaSts: MtaStsOutcome = 'None';
  const policy = isMx && dns.mtaStsEnabled ? dns.mtaStsPolicy(fqdn) : null;
  if (policy) {
    expiresAt = Math.min(expiresAt, now + policy.maxAgeSecs * 1000);
    mtaSts = policy.mode === 'enforce' ? 'Enforce' : policy.mode === 'testing' ? 'Testing' : 'None';
    if (policy.mode === 'enforce') {
      const allHosts = [...buckets.values()].flat();
      if (!allHosts.some((h) => mtaStsAllows(policy, h))) {
        throw new MxResolutionError(
          `MTA-STS enforce policy for ${fqdn.replace(/\.$/, '')} permits none of its MX hosts ${debugList(allHosts)}; ` +
            `allowed mx patterns: ${debugList(policy.mx)}. The destination is undeliverable until its MTA-STS policy is corrected.`,
        );
      }
      for (const [pref, hosts] of buckets) {
        const kept = hosts.filter((h) => mtaStsAllows(policy, h));
        if (kept.length === 0) buckets.delete(pref);
        else buckets.set(pref, kept);
      }
    }
  }

  const byPref: Record<number, string[]> = {};
  const hosts: string[] = [];
  for (const [pref, list] of buckets) {
    byPref[pref] = list;
    hosts.push(...list);
  }
  return {
    domain_name: fqdn, by_pref: byPref, hosts, site_name: siteName(hosts), is_domain_literal: false,
    is_mx: isMx, is_secure: answer.secure, mta_sts: mtaSts, expires_at_ms: expiresAt,
  };
}

/**
 * Resolves the MX hosts of `domain` (maybe `domain:port` or a literal).
 * Failures throw `MxResolutionError` ("MX lookup for … failed after …" or the
 * MTA-STS refusal). A named resolver bypasses the cache.
 */
export async function resolveMx(domain: string, resolverName?: string, dns: DnsService = processDns): Promise<MxResolution> {
  const literal = parseDomainLiteral(domain);
  if (literal) return fromLiteral(domain, literal.address, literal.port, dns.clock.now());
  const { host, port } = splitPort(domain);
  const fqdn = normalizeDomain(host);
  if (resolverName !== undefined) return queryMx(dns, fqdn, port, resolverName);

  const key = `${fqdn}|${port ?? ''}`;
  const now = dns.clock.now();
  const cached = dns.mxCache.get(key);
  if (cached && cached.expiresAtMs > now) return cached.result;
  const result = queryMx(dns, fqdn, port, undefined);
  const entry: { expiresAtMs: number; result: Promise<MxResolution> } = { expiresAtMs: Number.POSITIVE_INFINITY, result };
  dns.mxCache.set(key, entry);
  result.then(
    (r) => {
      // An answer already past its expiry is still reused for 10 s.
      entry.expiresAtMs = Math.max(r.expires_at_ms, dns.clock.now() + 10_000);
    },
    () => {
      entry.expiresAtMs = dns.clock.now() + dns.mxNegativeTtlMs;
    },
  );
  return result;
}
