import { describe, expect, it } from 'vitest';
import { DnsService } from '../../src/dns/service.ts';
import { resolveMx } from '../../src/dns/mx.ts';
import { TestResolver } from '../../src/dns/test-resolver.ts';
import { parseMtaStsPolicy } from '../../src/dns/mta-sts.ts';
import type { DnsAnswer, RecordType, Resolver } from '../../src/dns/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { errorOf } from '../helpers/lua.ts';

const ZONE = `$ORIGIN m.test.
@ 60 MX 10 mx.m.test.
`;

class CountingResolver implements Resolver {
  queries: string[] = [];
  constructor(private readonly inner: Resolver) {}
  query(name: string, type: RecordType): Promise<DnsAnswer> {
    this.queries.push(`${type} ${name}`);
    return this.inner.query(name, type);
  }
}

function setup() {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const counting = new CountingResolver(new TestResolver({ zones: [{ text: ZONE, secure: false }], servfail: [] }));
  const dns = new DnsService(clock, counting);
  return { clock, counting, dns };
}

describe('resolveMx caching (smtp-delivery §1.3)', () => {
  it('reuses an answer for its TTL (60 s in the test resolver), then asks again', async () => {
    const { clock, counting, dns } = setup();
    await resolveMx('m.test', undefined, dns);
    await resolveMx('M.TEST.', undefined, dns);
    expect(counting.queries).toEqual(['MX m.test.']);
    await clock.advance(61_000);
    await resolveMx('m.test', undefined, dns);
    expect(counting.queries).toHaveLength(2);
  });

  it('keeps a failure for the negative TTL; a named resolver bypasses the cache', async () => {
    const { clock, counting, dns } = setup();
    dns.mxNegativeTtlMs = 120_000;
    await errorOf(resolveMx('none.example', undefined, dns));
    await errorOf(resolveMx('none.example', undefined, dns));
    expect(counting.queries).toEqual(['MX none.example.']);
    await clock.advance(121_000);
    await errorOf(resolveMx('none.example', undefined, dns));
    expect(counting.queries).toHaveLength(2);
    dns.defineResolver('named', counting);
    await resolveMx('m.test', 'named', dns);
    await resolveMx('m.test', 'named', dns);
    expect(counting.queries.filter((q) => q === 'MX m.test.')).toHaveLength(2);
  });

  it('caps the cache lifetime by the MTA-STS max_age', async () => {
    const { clock, counting, dns } = setup();
    dns.setTestMtaSts(new Map([['m.test', parseMtaStsPolicy('version: STSv1\nmode: testing\nmx: mx.m.test\nmax_age: 20\n', 'm.test')]]));
    const mx = await resolveMx('m.test', undefined, dns);
    expect(mx.mta_sts).toBe('Testing');
    await clock.advance(21_000);
    await resolveMx('m.test', undefined, dns);
    expect(counting.queries).toHaveLength(2);
  });

  it('times out a slow MX query after the MX timeout', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const never: Resolver = { query: () => new Promise(() => {}) };
    const dns = new DnsService(clock, never);
    dns.mxTimeoutMs = 5_000;
    const pending = errorOf(resolveMx('slow.test', undefined, dns));
    await clock.advance(5_000);
    expect(await pending).toMatch(/^MX lookup for slow\.test\. failed after 5s: MX lookup for slow\.test\. timed out after 5000ms$/);
  });

  it('runs at most the concurrency limit of MX queries at once', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    let inFlight = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const slow: Resolver = {
      query: () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        return new Promise<DnsAnswer>((resolve) => releases.push(() => {
          inFlight--;
          resolve({ records: [], nxdomain: false, secure: false, ttlSecs: 60 });
        }));
      },
    };
    const dns = new DnsService(clock, slow);
    dns.mxConcurrencyLimit = 2;
    const all = Promise.all(['a.test', 'b.test', 'c.test', 'd.test'].map((d) => resolveMx(d, undefined, dns)));
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      releases.splice(0).forEach((release) => release());
    }
    const results = await all;
    expect(results.map((r) => r.hosts[0])).toEqual(['a.test.', 'b.test.', 'c.test.', 'd.test.']);
    expect(peak).toBe(2);
  });
});
