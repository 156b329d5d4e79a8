import { describe, expect, it } from 'vitest';
import { TestResolver } from '../../src/dns/test-resolver.ts';

const zone = (text: string, secure = false) => ({ text, secure });

describe('TestResolver answering rules (lua-api-more §4.5)', () => {
  it('picks the zone with the longest matching origin; a later zone with the same origin replaces the earlier', async () => {
    const r = new TestResolver({
      zones: [
        zone('$ORIGIN t.\n$TTL 60\nx.sub A 192.0.2.1\n'),
        zone('$ORIGIN sub.t.\n$TTL 60\nother A 192.0.2.2\n'),
        zone('$ORIGIN sub.t.\n$TTL 60\nx A 192.0.2.3\n'),
      ],
      servfail: [],
    });
    // sub.t. wins over t. for x.sub.t., and only the last sub.t. zone exists.
    expect((await r.query('X.Sub.T', 'A')).records).toEqual([{ type: 'A', address: '192.0.2.3' }]);
    expect(await r.query('other.sub.t.', 'A')).toMatchObject({ records: [], nxdomain: false });
    expect(await r.query('elsewhere.', 'A')).toMatchObject({ records: [], nxdomain: true });
  });

  it('follows one CNAME only; the answer is secure only when both zones are', async () => {
    const r = new TestResolver({
      zones: [
        zone('$ORIGIN s.\n$TTL 60\na CNAME b.s.\nb CNAME c.s.\nc A 192.0.2.9\nd CNAME x.i.\n', true),
        zone('$ORIGIN i.\n$TTL 60\nx A 192.0.2.10\n'),
      ],
      servfail: ['bad.s'],
    });
    expect(await r.query('b.s', 'A')).toMatchObject({ records: [{ address: '192.0.2.9' }], secure: true });
    expect((await r.query('a.s', 'A')).records).toEqual([]);
    expect((await r.query('a.s', 'CNAME')).records).toEqual([{ type: 'CNAME', name: 'b.s.' }]);
    expect(await r.query('d.s', 'A')).toMatchObject({ records: [{ address: '192.0.2.10' }], secure: false });
    await expect(r.query('BAD.s.', 'TXT')).rejects.toThrow(/SERVFAIL/);
  });
});
