import { describe, expect, it } from 'vitest';
import { formatFloat, serdeJson } from '../../src/records/serde-json.ts';
import { createdInstantFromSpoolId, formatRfc3339, formatSegmentStamp, instantFromMs } from '../../src/records/time-format.ts';
import { newSpoolId } from '../../src/message/spool-id.ts';
import { JsonFloat } from '../../src/util/json.ts';

describe('time formats', () => {
  it('uses 0, 3, 6 or 9 fraction digits, the shortest that is exact', () => {
    const secs = Date.UTC(2025, 8, 12, 11, 8, 1) / 1000;
    expect(formatRfc3339({ secs, nanos: 0 })).toBe('2025-09-12T11:08:01Z');
    expect(formatRfc3339({ secs, nanos: 440_000_000 })).toBe('2025-09-12T11:08:01.440Z');
    expect(formatRfc3339({ secs, nanos: 440_526_000 })).toBe('2025-09-12T11:08:01.440526Z');
    expect(formatRfc3339({ secs, nanos: 440_526_026 })).toBe('2025-09-12T11:08:01.440526026Z');
    expect(formatRfc3339({ secs, nanos: 5_000_000 })).toBe('2025-09-12T11:08:01.005Z');
    expect(formatSegmentStamp({ secs, nanos: 440_526_026 })).toBe('20250912-110801.440526026');
    expect(formatSegmentStamp({ secs, nanos: 0 })).toBe('20250912-110801');
  });

  it('splits milliseconds, keeping microseconds of fractional input', () => {
    expect(instantFromMs(1718200406412)).toEqual({ secs: 1718200406, nanos: 412_000_000 });
    expect(instantFromMs(1718200406412.871)).toEqual({ secs: 1718200406, nanos: 412_871_000 });
  });

  it('decodes the creation time of a UUID v1 spool id at 100 ns resolution', () => {
    expect(createdInstantFromSpoolId('2444a5b328c311ef9a3c525400c0ffee')).toEqual({ secs: 1718200406, nanos: 398_712_300 });
    const ms = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
    expect(createdInstantFromSpoolId(newSpoolId(ms)).secs).toBe(Math.floor(ms / 1000));
    expect(Math.floor(createdInstantFromSpoolId(newSpoolId(ms)).nanos / 1e6)).toBe(123);
    expect(() => createdInstantFromSpoolId('nope')).toThrow(/invalid spool id/);
  });
});

describe('serde_json number and map formatting', () => {
  it('formats floats like ryu', () => {
    expect(formatFloat(5)).toBe('5.0');
    expect(formatFloat(-2)).toBe('-2.0');
    expect(formatFloat(0)).toBe('0.0');
    expect(formatFloat(0.1)).toBe('0.1');
    expect(formatFloat(1234.5678)).toBe('1234.5678');
    expect(formatFloat(1e15)).toBe('1000000000000000.0');
    expect(formatFloat(1e16)).toBe('1e+16');
    expect(formatFloat(1.5e300)).toBe('1.5e+300');
    expect(formatFloat(0.0001)).toBe('0.0001');
    expect(formatFloat(0.00001)).toBe('0.00001');
    expect(formatFloat(0.000001)).toBe('1e-6');
    expect(formatFloat(1.25e-7)).toBe('1.25e-7');
    expect(formatFloat(NaN)).toBe('null');
  });

  it('writes integers plainly and JsonFloat with .0; sorts nested keys by code point', () => {
    expect(serdeJson([1, 2.5, new JsonFloat(3), 1e21])).toBe('[1,2.5,3.0,1000000000000000000000]');
    expect(serdeJson({ b: 1, a: { d: 1, c: 2 }, '\u{1F600}': 0, '\uFFFD': 0 })).toBe('{"a":{"c":2,"d":1},"b":1,"\uFFFD":0,"\u{1F600}":0}');
    expect(serdeJson('\u0001\t<')).toBe('"\\u0001\\t<"');
  });
});
