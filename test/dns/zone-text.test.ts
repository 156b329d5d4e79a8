import { describe, expect, it } from 'vitest';
import { parseZoneText } from '../../src/dns/zone-text.ts';

describe('parseZoneText', () => {
  it('reuses the previous TTL when omitted and the previous owner on whitespace-led lines (§14.39)', () => {
    const zone = parseZoneText(`$ORIGIN Z.test.
@    300 IN MX 10 mx1
         IN MX 20 mx2.z.test.
mx1  120 IN A 127.0.0.1
mx2      IN A 127.0.0.2
	 A 127.0.0.3
`);
    expect(zone.origin).toBe('z.test.');
    expect(zone.records.map((r) => [r.owner, r.ttl, r.record.type])).toEqual([
      ['z.test.', 300, 'MX'], ['z.test.', 300, 'MX'], ['mx1.z.test.', 120, 'A'], ['mx2.z.test.', 120, 'A'], ['mx2.z.test.', 120, 'A'],
    ]);
    expect(zone.records[0]!.record).toEqual({ type: 'MX', preference: 10, exchange: 'mx1.z.test.' });
  });

  it('uses $TTL when no earlier TTL exists; TTL and class in either order; units', () => {
    const zone = parseZoneText(`$ORIGIN t.
$TTL 1h
a A 192.0.2.1
b IN 30 A 192.0.2.2
c 1h30m IN A 192.0.2.3
d A 192.0.2.4
$TTL 10
e A 192.0.2.5
`);
    expect(zone.records.map((r) => r.ttl)).toEqual([3600, 30, 5400, 5400, 10]);
  });

  it('handles comments, parentheses spanning lines, quoted strings with ; and escapes, TLSA', () => {
    const zone = parseZoneText(`$ORIGIN t. ; the origin
txt 60 TXT ( "a;b" "c\\"d"   ; comment
   "\\065" )
_25._tcp.mx 60 TLSA 3 1 1 ( AB12
   cd34 )
`);
    expect(zone.records[0]!.record).toEqual({ type: 'TXT', strings: ['a;b', 'c"d', 'A'] });
    expect(zone.records[1]).toMatchObject({ owner: '_25._tcp.mx.t.', record: { type: 'TLSA', usage: 3, selector: 1, matchingType: 1, data: 'ab12cd34' } });
  });

  it('rejects what it cannot read, naming the line', () => {
    expect(() => parseZoneText('@ 60 A 1.2.3.4')).toThrow(/line 1: the zone must start with \$ORIGIN/);
    expect(() => parseZoneText('$ORIGIN t.\na 60 A 1.2.3')).toThrow(/line 2: bad A address/);
    expect(() => parseZoneText('$ORIGIN t.\na 60 AAAA 1.2.3.4')).toThrow(/bad AAAA address/);
    expect(() => parseZoneText('$ORIGIN t.\na 60 SPF "x"')).toThrow(/line 2: unsupported or missing record type "SPF"/);
    expect(() => parseZoneText('$ORIGIN t.\na A 1.2.3.4')).toThrow(/no TTL given/);
    expect(() => parseZoneText('$ORIGIN t.\na 60 TXT ( "x"')).toThrow(/unbalanced '\('/);
    expect(() => parseZoneText('$INCLUDE other\n')).toThrow(/unsupported directive/);
    expect(() => parseZoneText('$ORIGIN t.\n  60 A 1.2.3.4')).toThrow(/needs a previous owner/);
  });
});
