import { describe, expect, it } from 'vitest';
import { DurationError, formatHumantime, parseDuration, parseHumantime } from '../../src/util/duration.ts';
import { JsonFloat } from '../../src/util/json.ts';

describe('parseHumantime', () => {
  it.each([
    ['20m', 1_200_000],
    ['20 minutes', 1_200_000],
    ['1h 30m', 5_400_000],
    ['1h30m', 5_400_000],
    ['7 days', 604_800_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['90s', 90_000],
    ['5 mins', 300_000],
    ['2w', 1_209_600_000],
    ['1M', 2_630_016_000],
    ['1y', 31_557_600_000],
    ['10us', 0.01],
    ['10µs', 0.01],
    ['7ns', 7e-6],
  ])('%s', (text, ms) => {
    expect(parseHumantime(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['', 'value was empty'],
    ['   ', 'value was empty'],
    ['10', 'time unit needed, for example 10sec or 10ms'],
    ['abc', 'expected number at 0'],
    ['5x', 'unknown time unit "x", supported units: ns, us, ms, sec, min, hours, days, weeks, months, years (and few variations)'],
    ['5H', 'unknown time unit "H"'],
    ['5m!', 'invalid character at 2'],
    ['5m -3s', 'expected number at 2'],
  ])('rejects %j', (text, message) => {
    expect(() => parseHumantime(text)).toThrow(message);
  });
});

describe('parseDuration', () => {
  it('takes integers and floats as seconds', () => {
    expect(parseDuration(60)).toBe(60_000);
    expect(parseDuration(1.5)).toBe(1500);
    expect(parseDuration(new JsonFloat(2))).toBe(2000);
  });

  it('rejects negatives, other types and bad strings naming the field', () => {
    expect(() => parseDuration(-1, 'retry_interval')).toThrow(/retry_interval: invalid value: integer `-1`/);
    expect(() => parseDuration(-1.5, 'x')).toThrow(DurationError);
    expect(() => parseDuration(true, 'x')).toThrow(/invalid type: boolean/);
    expect(() => parseDuration('abc', 'max_age')).toThrow('max_age: invalid value: string "abc", expected a duration (expected number at 0)');
  });
});

describe('formatHumantime', () => {
  it('renders every non-zero unit', () => {
    expect(formatHumantime(0)).toBe('0s');
    expect(formatHumantime(1_200_000)).toBe('20m');
    expect(formatHumantime(604_800_000)).toBe('7days');
    expect(formatHumantime(86_400_000)).toBe('1day');
    const ms = 604_800_000 + 2 * 3_600_000 + 20 * 60_000 + 9_000 + 411.688448;
    expect(formatHumantime(ms)).toBe('7days 2h 20m 9s 411ms 688us 448ns');
    expect(formatHumantime(299_998.012345)).toBe('4m 59s 998ms 12us 345ns');
  });

  it('uses humantime months and years', () => {
    expect(formatHumantime(31_557_600_000 + 2_630_016_000 + 86_400_000)).toBe('1year 1month 1day');
    expect(formatHumantime(2 * 2_630_016_000)).toBe('2months');
  });
});
