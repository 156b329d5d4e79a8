import { describe, expect, it } from 'vitest';
import { evalLua, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const run = (code: string) => evalLua(`return ${code}`);
const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);
const T = `kumo.time.with_ymd_hms(2000, 1, 2, 3, 4, 5)`;

describe('Time', () => {
  it('has calendar fields and chrono formats', async () => {
    expect(await run(`(function() local t = ${T}
      return { t.year, t.month, t.day, t.hour, t.minute, t.second, t.unix_timestamp, t.rfc2822, t.rfc3339, tostring(t), type(t) } end)()`)).toEqual([
      2000, 1, 2, 3, 4, 5, 946782245, 'Sun, 2 Jan 2000 03:04:05 +0000', '2000-01-02T03:04:05+00:00', '2000-01-02 03:04:05 UTC', 'userdata',
    ]);
  });
  it('prints fractions as 3, 6 or 9 digits', async () => {
    expect(await run(`tostring(kumo.time.from_unix_timestamp(0.5))`)).toBe('1970-01-01 00:00:00.500 UTC');
    expect(await run(`kumo.time.from_unix_timestamp(0.5).rfc3339`)).toBe('1970-01-01T00:00:00.500+00:00');
    expect(await run(`kumo.time.parse_rfc3339('2025-09-12T11:08:01.440526026Z').rfc3339`)).toBe('2025-09-12T11:08:01.440526026+00:00');
    expect(await run(`kumo.time.parse_rfc3339('2025-09-12T11:08:01.000001Z').rfc3339`)).toBe('2025-09-12T11:08:01.000001+00:00');
  });
  it('returns unix_timestamp_millis as an integer (beyond 32 bits)', async () => {
    expect(await run(`(function() local t = ${T} return { t.unix_timestamp_millis, math.type(t.unix_timestamp_millis) } end)()`)).toEqual([946782245000, 'integer']);
  });
  it('formats with chrono strftime', async () => {
    expect(await run(`${T}:format('%Y-%m-%d %H:%M:%S %a %A %b %B %e %j %p %I %y %C %z %:z %Z %s %%')`)).toBe(
      '2000-01-02 03:04:05 Sun Sunday Jan January  2 002 AM 03 00 20 +0000 +00:00 UTC 946782245 %',
    );
    expect(await run(`${T}:format('%H:%M:%S%')`)).toBe('03:04:05%');
    expect(await run(`${T}:format('%Q')`)).toBe('%Q');
    expect(await run(`kumo.time.from_unix_timestamp(0.25):format('%.f|%.3f|%3f|%f|%.6f')`)).toBe('.250|.250|250|250000000|.250000');
    expect(await run(`${T}:format('%+ %D %F %T %R %u %w %U %W')`)).toBe('2000-01-02T03:04:05+00:00 01/02/00 2000-01-02 03:04:05 03:04 7 0 01 00');
  });
  it('parses RFC 3339 offsets and reports chrono errors', async () => {
    expect(await run(`tostring(kumo.time.parse_rfc3339('2000-01-02T05:04:05+02:00'))`)).toBe('2000-01-02 03:04:05 UTC');
    expect(await err(`kumo.time.parse_rfc3339('2000-01-02')`)).toMatch(/^premature end of input/);
    expect(await err(`kumo.time.parse_rfc3339('2000-01-02X03:04:05Z')`)).toMatch(/^input contains invalid characters/);
    expect(await err(`kumo.time.parse_rfc3339('2000-01-02T03:04:05Zjunk')`)).toMatch(/^trailing input/);
    expect(await err(`kumo.time.parse_rfc3339('2000-02-30T03:04:05Z')`)).toMatch(/^input is out of range/);
  });
  it('parses RFC 2822, with alphabetic zones and comments', async () => {
    expect(await run(`tostring(kumo.time.parse_rfc2822('Sun, 2 Jan 2000 03:04:05 +0000'))`)).toBe('2000-01-02 03:04:05 UTC');
    expect(await run(`tostring(kumo.time.parse_rfc2822('2 Jan 2000 04:04:05 CET'))`)).toBe('2000-01-02 03:04:05 UTC');
    expect(await run(`tostring(kumo.time.parse_rfc2822('Sun, 2 Jan 2000 03:04:05 XYZT'))`)).toBe('2000-01-02 03:04:05 UTC');
    expect(await run(`tostring(kumo.time.parse_rfc2822('Sun, 2 Jan 2000 03:04:05 -0500 (EST)'))`)).toBe('2000-01-02 08:04:05 UTC');
    expect(await err(`kumo.time.parse_rfc2822('nonsense')`)).toMatch(/input/);
  });
  it('validates with_ymd_hms and from_unix_timestamp', async () => {
    expect(await err(`kumo.time.with_ymd_hms(2000, 2, 30, 0, 0, 0)`)).toBe('time cannot be represented due to a gap in local time');
    expect(await err(`kumo.time.with_ymd_hms(2000, 1, 1, 0, 0, 60)`)).toBe('time cannot be represented due to a gap in local time');
    expect(await err(`kumo.time.from_unix_timestamp('5')`)).toBe('timestamp must be either an integer or floating point number of seconds');
    expect(await run(`kumo.time.from_unix_timestamp(-1.5).unix_timestamp`)).toBe(-1);
    expect(await run(`tostring(kumo.time.from_unix_timestamp(-1.5))`)).toBe('1969-12-31 23:59:59 UTC');
  });
  it('supports ==, +, - with TimeDelta and Time - Time', async () => {
    expect(await run(`(function()
      local a = ${T}
      local b = a + kumo.time.parse_duration('1h 30m')
      local d = b - a
      return { a == ${T}, a == b, tostring(b), tostring(b - kumo.time.parse_duration(60)), tostring(d.seconds), d.human, tostring(d) } end)()`)).toEqual([
      true, false, '2000-01-02 04:34:05 UTC', '2000-01-02 04:33:05 UTC', '5400.0', '1h 30m', '1h 30m',
    ]);
    expect(await err(`return kumo.time.parse_duration(1) + ${T}`)).toMatch(/TimeDelta/);
  });
  it('now() and elapsed follow the context clock', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const t = newLua({ clock });
    expect(await t.eval(`return kumo.time.now().rfc3339`)).toBe('2026-01-01T00:00:00+00:00');
    await t.eval(`START = kumo.time.now()`);
    await clock.advance(2500);
    expect(await t.eval(`return START.elapsed.milliseconds`)).toBe(2500);
  });
});

describe('TimeDelta and parse_duration', () => {
  it('reads integers, floats and humantime strings', async () => {
    expect(await run(`(function() local d = kumo.time.parse_duration(90)
      return { tostring(d.seconds), math.type(d.seconds), d.milliseconds, d.microseconds, d.nanoseconds, d.human } end)()`)).toEqual(['90.0', 'float', 90000, 90000000, 90000000000, '1m 30s']);
    expect(await run(`kumo.time.parse_duration(1.5).human`)).toBe('1s 500ms');
    expect(await run(`kumo.time.parse_duration('500ms').human`)).toBe('500ms');
    expect(await run(`kumo.time.parse_duration(0).human`)).toBe('0s');
    expect(await run(`kumo.time.parse_duration('1 day 2h').human`)).toBe('1day 2h');
    expect(await run(`kumo.time.parse_duration('3 days').human`)).toBe('3days');
    expect(await run(`tostring(kumo.time.parse_duration(-5).seconds)`)).toBe('-5.0');
  });
  it('rejects bad durations with humantime messages', async () => {
    expect(await err(`kumo.time.parse_duration('10')`)).toMatch(/^time unit needed, for example 10sec or 10ms/);
    expect(await err(`kumo.time.parse_duration('5 parsecs')`)).toMatch(/^unknown time unit "parsecs"/);
    expect(await err(`kumo.time.parse_duration({})`)).toBe('invalid duration value');
    expect(await err(`kumo.time.parse_duration(-1.5)`)).toMatch(/invalid duration/);
    expect(await err(`return kumo.time.parse_duration(-5).human`)).toMatch(/out of range/);
  });
  it('adds, subtracts and compares deltas', async () => {
    expect(await run(`(function() local a, b = kumo.time.parse_duration(60), kumo.time.parse_duration('1m')
      return { a == b, (a + b).human, (a - kumo.time.parse_duration(30)).human } end)()`)).toEqual([true, '2m', '30s']);
  });
});

describe('kumo.time.sleep and timers', () => {
  it('sleeps on the context clock; kumo.sleep is the same function', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    expect(await t.eval(`return kumo.sleep == kumo.time.sleep`)).toBe(true);
    let done = false;
    const p = t.eval(`kumo.time.sleep(1.5) return 'woke'`).then((v) => {
      done = true;
      return v;
    });
    await clock.advance(1000);
    expect(done).toBe(false);
    await clock.advance(600);
    expect(await p).toBe('woke');
  });
  it('timer:done() returns elapsed seconds once, then nil', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    await t.eval(`TIMER = kumo.time.start_timer('x')`);
    await clock.advance(250);
    expect(await t.eval(`return { TIMER:done(), TIMER:done() == nil }`)).toEqual([0.25, true]);
  });
});
