/**
 * Hermetic DNS for delivery tests, through the real DNS layer: the maps are
 * written out as zone texts for src/dns's TestResolver (what
 * `kumo.dns.configure_test_resolver` builds) and answered by src/dns's
 * resolveMx / lookupAddr via the SMTP client's DnsMxResolver.
 */
import { DnsService, TestResolver, type DnsAnswer, type RecordType, type Resolver } from '../../../src/dns/index.ts';
import { DnsMxResolver } from '../../../src/delivery/smtp/dns-resolver.ts';
import { domainToASCII } from 'node:url';
import { VirtualClock } from '../../../src/util/clock.ts';

/** Zone files hold A-labels, as real DNS does (src/dns queries `bücher.example` as `xn--bcher-kva.example`). */
const ascii = (name: string): string => domainToASCII(name) || name;

/** Zone texts for MX buckets (preference 10, 20, …) and A/AAAA per host; `{ error }` domains get no zone (NXDOMAIN). */
export function zonesFor(
  mx: Record<string, string[][] | { error: string } | { implicit: true }>,
  a: Record<string, string[]> = {},
  aaaa: Record<string, string[]> = {},
): string[] {
  const zones = new Map<string, string[]>();
  const add = (name: string, line: string) => {
    const origin = ascii(name.replace(/\.$/, ''));
    zones.set(origin, [...(zones.get(origin) ?? [`$ORIGIN ${origin}.`]), line]);
  };
  for (const [domain, entry] of Object.entries(mx)) {
    if ('error' in entry) continue;
    // A zone without MX records: NODATA, so the MX is implicit.
    if ('implicit' in entry) add(domain, '@ 300 TXT "implicit mx"');
    else entry.forEach((bucket, i) => bucket.forEach((host) => add(domain, `@ 300 MX ${(i + 1) * 10} ${host === '.' ? '.' : `${ascii(host.replace(/\.$/, ''))}.`}`)));
  }
  for (const [host, ips] of Object.entries(a)) for (const ip of ips) add(host, `@ 300 A ${ip}`);
  for (const [host, ips] of Object.entries(aaaa)) for (const ip of ips) add(host, `@ 300 AAAA ${ip}`);
  return [...zones.values()].map((lines) => `${lines.join('\n')}\n`);
}

/** Counts the MX queries that reach the resolver (the MX cache answers the rest). */
class Counting implements Resolver {
  readonly mxQueries: string[] = [];
  constructor(private readonly inner: Resolver) {}
  query(name: string, type: RecordType): Promise<DnsAnswer> {
    if (type === 'MX') this.mxQueries.push(name.replace(/\.$/, ''));
    return this.inner.query(name, type);
  }
}

/** A DnsMxResolver over its own DnsService (virtual clock: lookups take 0ns) and test zones. */
export class MemoryResolver extends DnsMxResolver {
  private readonly counting: Counting;
  readonly dnsService: DnsService;

  constructor(
    mx: Record<string, string[][] | { error: string } | { implicit: true }> = {},
    a: Record<string, string[]> = {},
    aaaa: Record<string, string[]> = {},
  ) {
    const counting = new Counting(new TestResolver({ zones: zonesFor(mx, a, aaaa).map((text) => ({ text, secure: false })), servfail: [] }));
    const service = new DnsService(new VirtualClock(), counting);
    super(() => service);
    this.counting = counting;
    this.dnsService = service;
  }

  get mxQueries(): string[] {
    return this.counting.mxQueries;
  }
}
