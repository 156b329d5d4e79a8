/**
 * The DNS data model shared by every resolver (test zones, node:dns) and the
 * lookups built on them. Names are absolute, lower-case, with a trailing dot.
 */

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME' | 'TLSA' | 'NS' | 'SOA';

export type DnsRecord =
  | { type: 'A' | 'AAAA'; address: string }
  | { type: 'MX'; preference: number; exchange: string }
  | { type: 'TXT'; strings: string[] }
  | { type: 'PTR' | 'CNAME' | 'NS'; name: string }
  | { type: 'TLSA'; usage: number; selector: number; matchingType: number; data: string }
  | { type: 'SOA'; text: string };

/** What one query returned. NODATA = `records` empty and `nxdomain` false. */
export interface DnsAnswer {
  records: DnsRecord[];
  /** The name does not exist at all. */
  nxdomain: boolean;
  /** Every step of the answer was DNSSEC-validated. */
  secure: boolean;
  /** How long the answer may be reused, in seconds. */
  ttlSecs: number;
}

/** A query that produced no answer at all (SERVFAIL, timeout, refused ...). */
export class DnsQueryError extends Error {
  constructor(
    readonly queryName: string,
    readonly queryType: RecordType,
    /** Short reason, e.g. `SERVFAIL`, `ETIMEOUT`. */
    readonly reason: string,
    detail?: string,
  ) {
    super(detail ?? `${queryType} lookup for ${queryName} failed: ${reason}`);
  }
}

/** One configured resolver: the test zones or node:dns with given servers. */
export interface Resolver {
  /** `name` is any spelling; the resolver normalises it. */
  query(name: string, type: RecordType): Promise<DnsAnswer>;
}

/** `Example.COM` / `example.com.` → `example.com.` */
export function toFqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

export function emptyAnswer(nxdomain: boolean, ttlSecs = 60): DnsAnswer {
  return { records: [], nxdomain, secure: false, ttlSecs };
}
