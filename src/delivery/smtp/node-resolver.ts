/**
 * The default MxResolver on node:dns. `localhost` is answered locally
 * because dns.resolve* ignores /etc/hosts (smtp-delivery.md §7.4).
 * The daemon replaces this with src/dns's resolver when that exists.
 */
import { promises as dns } from 'node:dns';
import { domainToASCII } from 'node:url';
import type { IpLookupStrategy, MxResolver, MxResult } from './ports.ts';

/** Lowercase, A-labels, trailing dot (§1.3 step 2). */
function fq(name: string): string {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return `${domainToASCII(bare.toLowerCase()) || bare.toLowerCase()}.`;
}

function isNoData(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

async function family(host: string, v6: boolean): Promise<string[]> {
  if (host === 'localhost') return [v6 ? '::1' : '127.0.0.1'];
  try {
    return v6 ? await dns.resolve6(host) : await dns.resolve4(host);
  } catch (err) {
    if (isNoData(err)) return [];
    throw err;
  }
}

/** A/AAAA per `ip_lookup_strategy` (§2.5), given a per-family lookup. */
export async function lookupByStrategy(strategy: IpLookupStrategy, lookup: (v6: boolean) => Promise<string[]>): Promise<string[]> {
  const settled = async (v6: boolean) => {
    try {
      return { ok: await lookup(v6) };
    } catch (err) {
      return { err: err as Error };
    }
  };
  const pick = async (order: boolean[], both: boolean) => {
    const out: string[] = [];
    let error: Error | null = null;
    for (const v6 of order) {
      const r = await settled(v6);
      if (r.ok) out.push(...r.ok);
      else error = r.err;
      if (!both && out.length > 0) break;
    }
    if (out.length === 0 && error) throw error;
    return out;
  };
  switch (strategy) {
    case 'Ipv4Only': return pick([false], false);
    case 'Ipv6Only': return pick([true], false);
    case 'Ipv4ThenIpv6': return pick([false, true], false);
    case 'Ipv6ThenIpv4': return pick([true, false], false);
    default: return pick([false, true], true);
  }
}

export class NodeMxResolver implements MxResolver {
  async resolveMx(domain: string): Promise<MxResult> {
    const name = fq(domain);
    const bare = name.slice(0, -1);
    if (bare === 'localhost') return { buckets: [[name]], isMx: false };
    const started = Date.now();
    let records: { exchange: string; priority: number }[];
    try {
      records = await dns.resolveMx(bare);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA') return { buckets: [[name]], isMx: false };
      const elapsed = `${((Date.now() - started) / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
      throw new Error(`MX lookup for ${name} failed after ${elapsed}: ${code === 'ENOTFOUND' ? 'NXDOMAIN' : (err as Error).message}`);
    }
    if (records.length === 0) return { buckets: [[name]], isMx: false };
    return { buckets: bucketMx(records), isMx: true };
  }

  lookupAddr(host: string, strategy: IpLookupStrategy): Promise<string[]> {
    const h = fq(host).slice(0, -1);
    return lookupByStrategy(strategy, (v6) => family(h, v6));
  }
}

/** Exchanges (lowercase, trailing dot) by ascending preference, sorted inside a bucket; `.` stays as the null MX. */
export function bucketMx(records: { exchange: string; priority: number }[]): string[][] {
  const byPref = new Map<number, string[]>();
  for (const r of records) {
    const host = r.exchange === '' || r.exchange === '.' ? '.' : fq(r.exchange);
    const list = byPref.get(r.priority) ?? [];
    if (!list.includes(host)) list.push(host);
    byPref.set(r.priority, list);
  }
  return [...byPref.entries()].sort((a, b) => a[0] - b[0]).map(([, hosts]) => hosts.sort());
}
