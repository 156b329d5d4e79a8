import { JsonFloat } from './json.ts';

/**
 * KumoMTA "duration" values (clients.md §0.4): a number of seconds (integer or
 * float, never negative) or a humantime string such as "1h 30m" or "1.5h".
 * Everything here works in milliseconds; sub-millisecond units give fractions.
 */
export class DurationError extends Error {}

const MS_PER_UNIT: ReadonlyMap<string, number> = new Map([
  ...['nanos', 'nsec', 'ns'].map((u) => [u, 1e-6] as const),
  ...['usec', 'us', 'µs'].map((u) => [u, 1e-3] as const),
  ...['millis', 'msec', 'ms'].map((u) => [u, 1] as const),
  ...['seconds', 'second', 'secs', 'sec', 's'].map((u) => [u, 1000] as const),
  ...['minutes', 'minute', 'min', 'mins', 'm'].map((u) => [u, 60_000] as const),
  ...['hours', 'hour', 'hr', 'hrs', 'h'].map((u) => [u, 3_600_000] as const),
  ...['days', 'day', 'd'].map((u) => [u, 86_400_000] as const),
  ...['weeks', 'week', 'wk', 'wks', 'w'].map((u) => [u, 604_800_000] as const),
  ...['months', 'month', 'M'].map((u) => [u, 2_630_016_000] as const),
  ...['years', 'year', 'yr', 'yrs', 'y'].map((u) => [u, 31_557_600_000] as const),
]);

const SUPPORTED_UNITS = 'ns, us, ms, sec, min, hours, days, weeks, months, years (and few variations)';

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLetter = (c: string) => /^[A-Za-z]$/.test(c) || c === 'µ';
const isSpace = (c: string) => /^\s$/u.test(c);

/** Parses a humantime duration string into milliseconds, with humantime's error texts. */
export function parseHumantime(text: string): number {
  const chars = Array.from(text);
  // humantime reports byte offsets into the UTF-8 string.
  const byteOffsets: number[] = [];
  let acc = 0;
  for (const c of chars) {
    byteOffsets.push(acc);
    acc += Buffer.byteLength(c);
  }
  byteOffsets.push(acc);

  let pos = 0;
  let total = 0;
  let groups = 0;
  for (;;) {
    const groupStart = pos;
    while (pos < chars.length && isSpace(chars[pos]!)) pos++;
    if (pos >= chars.length) {
      if (groups === 0) throw new DurationError('value was empty');
      return total;
    }
    if (!isDigit(chars[pos]!)) throw new DurationError(`expected number at ${byteOffsets[groupStart]}`);
    let digits = '';
    let fraction = '';
    let inFraction = false;
    while (pos < chars.length) {
      const c = chars[pos]!;
      if (isDigit(c)) {
        if (inFraction) fraction += c;
        else digits += c;
      } else if (c === '.' && !inFraction) {
        inFraction = true;
      } else if (isSpace(c)) {
        // humantime tolerates blanks between the number and its unit
      } else if (isLetter(c)) {
        break;
      } else {
        throw new DurationError(`invalid character at ${byteOffsets[pos]}`);
      }
      pos++;
    }
    let unit = '';
    while (pos < chars.length && isLetter(chars[pos]!)) unit += chars[pos++];
    if (pos < chars.length && !isSpace(chars[pos]!) && !isDigit(chars[pos]!)) {
      throw new DurationError(`invalid character at ${byteOffsets[pos]}`);
    }
    const value = Number(digits + (fraction ? '.' + fraction : ''));
    if (!Number.isFinite(value) || digits.length > 20) throw new DurationError('number is too large');
    if (unit === '') throw new DurationError(`time unit needed, for example ${digits}sec or ${digits}ms`);
    const factor = MS_PER_UNIT.get(unit);
    if (factor === undefined) throw new DurationError(`unknown time unit ${JSON.stringify(unit)}, supported units: ${SUPPORTED_UNITS}`);
    total += value * factor;
    groups++;
  }
}

/**
 * A duration option value (number of seconds or humantime string) to
 * milliseconds. `what` names the option in error messages.
 */
export function parseDuration(value: unknown, what = 'duration'): number {
  if (value instanceof JsonFloat) value = value.value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DurationError(`${what}: invalid value: ${value}, expected a duration`);
    if (value < 0) {
      const kind = Number.isInteger(value) ? 'integer' : 'floating point';
      throw new DurationError(`${what}: invalid value: ${kind} \`${value}\`, expected a non-negative duration`);
    }
    return value * 1000;
  }
  if (typeof value === 'string') {
    try {
      return parseHumantime(value);
    } catch (err) {
      throw new DurationError(`${what}: invalid value: string ${JSON.stringify(value)}, expected a duration (${(err as Error).message})`);
    }
  }
  throw new DurationError(`${what}: invalid type: ${describeType(value)}, expected a duration`);
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (Array.isArray(value)) return 'sequence';
  return typeof value === 'object' ? 'map' : typeof value;
}

const SECS_PER_YEAR = 31_557_600;
const SECS_PER_MONTH = 2_630_016;

/**
 * Renders milliseconds the way humantime prints a Duration: every non-zero
 * unit from years down to nanoseconds, e.g. `7days 2h 20m 9s 411ms 688us 448ns`.
 */
export function formatHumantime(ms: number): string {
  if (!(ms > 0)) return '0s';
  let secs = Math.floor(ms / 1000);
  let nanos = Math.round((ms - secs * 1000) * 1e6);
  if (nanos >= 1e9) {
    secs += 1;
    nanos -= 1e9;
  }
  const parts: string[] = [];
  const plural = (n: number, word: string) => {
    if (n > 0) parts.push(`${n}${word}${n > 1 ? 's' : ''}`);
  };
  const plain = (n: number, suffix: string) => {
    if (n > 0) parts.push(`${n}${suffix}`);
  };
  const years = Math.floor(secs / SECS_PER_YEAR);
  const afterYears = secs % SECS_PER_YEAR;
  const months = Math.floor(afterYears / SECS_PER_MONTH);
  const afterMonths = afterYears % SECS_PER_MONTH;
  const days = Math.floor(afterMonths / 86_400);
  const daySecs = afterMonths % 86_400;
  plural(years, 'year');
  plural(months, 'month');
  plural(days, 'day');
  plain(Math.floor(daySecs / 3600), 'h');
  plain(Math.floor((daySecs % 3600) / 60), 'm');
  plain(daySecs % 60, 's');
  plain(Math.floor(nanos / 1e6), 'ms');
  plain(Math.floor(nanos / 1e3) % 1000, 'us');
  plain(nanos % 1000, 'ns');
  return parts.length ? parts.join(' ') : '0s';
}
