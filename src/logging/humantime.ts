import { LoggingConfigError } from './options.ts';

/**
 * Durations as KumoMTA configuration accepts them: a number of seconds, or
 * humantime text such as `'5 minutes'`, `'1min'`, `'1h 30m'`, `'250ms'`.
 */

const UNIT_MS: Record<string, number> = {
  nsec: 1e-6, ns: 1e-6,
  usec: 1e-3, us: 1e-3,
  msec: 1, ms: 1,
  seconds: 1000, second: 1000, sec: 1000, secs: 1000, s: 1000,
  minutes: 60_000, minute: 60_000, min: 60_000, mins: 60_000, m: 60_000,
  hours: 3_600_000, hour: 3_600_000, hr: 3_600_000, hrs: 3_600_000, h: 3_600_000,
  days: 86_400_000, day: 86_400_000, d: 86_400_000,
  weeks: 604_800_000, week: 604_800_000, w: 604_800_000,
  months: 2_630_016_000, month: 2_630_016_000, M: 2_630_016_000,
  years: 31_557_600_000, year: 31_557_600_000, y: 31_557_600_000,
};

const PART = /\s*(\d+)\s*([A-Za-z]+)/y;

/** Milliseconds for a duration option; throws naming `what` on bad input. */
export function parseDurationMs(what: string, value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new LoggingConfigError(`${what}: invalid duration ${value}`);
    return value * 1000;
  }
  if (typeof value !== 'string') throw new LoggingConfigError(`${what}: expected a duration string or a number of seconds`);
  const text = value.trim();
  if (text === '') throw new LoggingConfigError(`${what}: empty duration`);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (!m) throw new LoggingConfigError(`${what}: invalid duration ${JSON.stringify(value)} at ${JSON.stringify(text.slice(at))}`);
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) throw new LoggingConfigError(`${what}: unknown time unit ${JSON.stringify(m[2])} in ${JSON.stringify(value)}`);
    total += Number(m[1]) * unit;
    const rest = text.slice(PART.lastIndex);
    if (rest.trim() === '') break;
  }
  return total;
}
