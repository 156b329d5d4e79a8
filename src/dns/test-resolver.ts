/**
 * The in-memory resolver of `kumo.dns.configure_test_resolver`: answers from
 * zone texts and never touches the network (lua-api-more §4.5).
 */
import { parseZoneText, ZoneParseError, type ZoneRecord } from './zone-text.ts';
import { DnsQueryError, emptyAnswer, toFqdn, type DnsAnswer, type RecordType, type Resolver } from './types.ts';

export interface TestZone {
  text: string;
  secure: boolean;
}

export interface TestResolverConfig {
  zones: TestZone[];
  servfail: string[];
}

interface Zone {
  origin: string;
  secure: boolean;
  /** owner → records */
  byOwner: Map<string, ZoneRecord[]>;
}

/** Answers count as valid this long, whatever the zone's TTLs say. */
const TEST_ANSWER_TTL_SECS = 60;

export class TestResolver implements Resolver {
  private readonly zones = new Map<string, Zone>();
  private readonly servfail: Set<string>;

  /** Parses every zone now, so a bad zone fails the configuration call. */
  constructor(config: TestResolverConfig) {
    config.zones.forEach((z, index) => {
      let parsed;
      try {
        parsed = parseZoneText(z.text);
      } catch (err) {
        if (err instanceof ZoneParseError) throw new ZoneParseError(`failed to parse zone ${index + 1}: ${err.message}`);
        throw err;
      }
      const byOwner = new Map<string, ZoneRecord[]>();
      for (const r of parsed.records) {
        const list = byOwner.get(r.owner) ?? [];
        list.push(r);
        byOwner.set(r.owner, list);
      }
      // A later zone with the same origin replaces the earlier one.
      this.zones.set(parsed.origin, { origin: parsed.origin, secure: z.secure, byOwner });
    });
    this.servfail = new Set(config.servfail.map(toFqdn));
  }

  private zoneFor(name: string): Zone | undefined {
    let best: Zone | undefined;
    for (const zone of this.zones.values()) {
      const inside = zone.origin === '.' || name === zone.origin || name.endsWith(`.${zone.origin}`);
      if (inside && (!best || zone.origin.length > best.origin.length)) best = zone;
    }
    return best;
  }

  private lookup(name: string, type: RecordType): { zone: Zone; records: ZoneRecord[] } | undefined {
    const zone = this.zoneFor(name);
    if (!zone) return undefined;
    return { zone, records: zone.byOwner.get(name) ?? [] };
  }

  async query(rawName: string, type: RecordType): Promise<DnsAnswer> {
    const name = toFqdn(rawName);
    if (this.servfail.has(name)) throw new DnsQueryError(name, type, 'SERVFAIL', `${type} lookup for ${name} failed: SERVFAIL`);
    const found = this.lookup(name, type);
    if (!found) return emptyAnswer(true, TEST_ANSWER_TTL_SECS);
    const exact = found.records.filter((r) => r.record.type === type);
    if (exact.length > 0) return this.answer(exact.map((r) => r.record), found.zone.secure);
    const cname = type === 'CNAME' ? undefined : found.records.find((r) => r.record.type === 'CNAME');
    if (cname && cname.record.type === 'CNAME') {
      // Followed once: a CNAME pointing at another CNAME is not chased further.
      const target = cname.record.name;
      if (this.servfail.has(target)) throw new DnsQueryError(name, type, 'SERVFAIL', `${type} lookup for ${target} failed: SERVFAIL`);
      const next = this.lookup(target, type);
      const records = next ? next.records.filter((r) => r.record.type === type).map((r) => r.record) : [];
      return this.answer(records, found.zone.secure && (next?.zone.secure ?? false));
    }
    return { ...emptyAnswer(false, TEST_ANSWER_TTL_SECS), secure: found.zone.secure };
  }

  private answer(records: DnsAnswer['records'], secure: boolean): DnsAnswer {
    return { records, nxdomain: false, secure, ttlSecs: TEST_ANSWER_TTL_SECS };
  }
}
