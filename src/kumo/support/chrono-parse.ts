/**
 * RFC 3339 and RFC 2822 parsing with chrono's strictness and error texts
 * (clients.md §8.1), converted to UTC instants.
 */
import { MAX_SECS, type Instant } from './chrono-format.ts';

export class ChronoParseError extends Error {}

const INVALID = 'input contains invalid characters';
const TOO_SHORT = 'premature end of input';
const TOO_LONG = 'trailing input';
const OUT_OF_RANGE = 'input is out of range';

function fromFields(y: number, mo: number, d: number, h: number, mi: number, s: number, nanos: number, offsetSecs: number): Instant {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) throw new ChronoParseError(OUT_OF_RANGE);
  const date = new Date(Date.UTC(y, mo - 1, d));
  date.setUTCFullYear(y); // years 0..99 are not shifted to 19xx
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) throw new ChronoParseError(OUT_OF_RANGE);
  // A leap second (60) is folded into the next second; JS has no leap seconds.
  const secs = date.getTime() / 1000 + h * 3600 + mi * 60 + s - offsetSecs;
  if (Math.abs(secs) > MAX_SECS) throw new ChronoParseError(OUT_OF_RANGE);
  return { secs, nanos };
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}
  digits(min: number, max: number): number {
    let text = '';
    while (text.length < max && this.i < this.s.length && /[0-9]/.test(this.s[this.i]!)) text += this.s[this.i++];
    if (text.length < min) throw new ChronoParseError(this.i >= this.s.length ? TOO_SHORT : INVALID);
    return Number(text);
  }
  expect(chars: string): string {
    if (this.i >= this.s.length) throw new ChronoParseError(TOO_SHORT);
    const c = this.s[this.i]!;
    if (!chars.includes(c)) throw new ChronoParseError(INVALID);
    this.i++;
    return c;
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
  done(): boolean {
    return this.i >= this.s.length;
  }
  skipSpace(): void {
    while (this.i < this.s.length && /[ \t\r\n]/.test(this.s[this.i]!)) this.i++;
  }
}

export function parseRfc3339(text: string): Instant {
  const sc = new Scanner(text);
  const y = sc.digits(4, 4);
  sc.expect('-');
  const mo = sc.digits(2, 2);
  sc.expect('-');
  const d = sc.digits(2, 2);
  sc.expect('Tt ');
  const h = sc.digits(2, 2);
  sc.expect(':');
  const mi = sc.digits(2, 2);
  sc.expect(':');
  const s = sc.digits(2, 2);
  let nanos = 0;
  if (sc.peek() === '.') {
    sc.i++;
    const start = sc.i;
    sc.digits(1, Infinity);
    nanos = Number(text.slice(start, sc.i).slice(0, 9).padEnd(9, '0'));
  }
  let offset = 0;
  const z = sc.expect('Zz+-');
  if (z === '+' || z === '-') {
    const oh = sc.digits(2, 2);
    sc.expect(':');
    const om = sc.digits(2, 2);
    if (oh > 23 || om > 59) throw new ChronoParseError(OUT_OF_RANGE);
    offset = (z === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  if (!sc.done()) throw new ChronoParseError(TOO_LONG);
  return fromFields(y, mo, d, h, mi, s, nanos, offset);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Zones RFC 2822 itself names (obs-zone). Military letters mean -0000. */
const RFC_ZONES: Record<string, number> = {
  UT: 0, GMT: 0, Z: 0, EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7,
};

/** Extra alphabetic zones KumoMTA rewrites to numeric offsets before retrying (hours). */
const EXTRA_ZONES: Record<string, number> = {
  UTC: 0, WET: 0, WEST: 1, BST: 1, CET: 1, CEST: 2, MET: 1, MEST: 2, EET: 2, EEST: 3, MSK: 3,
  GST: 4, PKT: 5, ICT: 7, WIB: 7, HKT: 8, SGT: 8, AWST: 8, JST: 9, KST: 9, ACST: 9.5, ACDT: 10.5,
  AEST: 10, AEDT: 11, NZST: 12, NZDT: 13, HST: -10, AKST: -9, AKDT: -8, NST: -3.5, NDT: -2.5,
  AST: -4, ADT: -3, SAST: 2, WAT: 1, CAT: 2, EAT: 3,
};

function zoneOffset(sc: Scanner, extraZones: boolean): number {
  const c = sc.peek();
  if (c === undefined) throw new ChronoParseError(TOO_SHORT);
  if (c === '+' || c === '-') {
    sc.i++;
    const hh = sc.digits(2, 2);
    const mm = sc.digits(2, 2);
    if (mm > 59) throw new ChronoParseError(OUT_OF_RANGE);
    return (c === '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  }
  let word = '';
  while (!sc.done() && /[A-Za-z]/.test(sc.peek()!)) word += sc.s[sc.i++];
  if (word === '') throw new ChronoParseError(INVALID);
  const upper = word.toUpperCase();
  if (upper in RFC_ZONES) return RFC_ZONES[upper]! * 3600;
  if (upper.length === 1) return 0;
  if (!extraZones) throw new ChronoParseError(INVALID);
  // Unknown or ambiguous names mean -0000 (UTC), as KumoMTA's fallback does.
  return (EXTRA_ZONES[upper] ?? 0) * 3600;
}

function parse2822(text: string, extraZones: boolean): Instant {
  const sc = new Scanner(text);
  sc.skipSpace();
  if (/[A-Za-z]/.test(sc.peek() ?? '')) {
    const day = text.slice(sc.i, sc.i + 3).toLowerCase();
    if (!DAYS.includes(day)) throw new ChronoParseError(INVALID);
    sc.i += 3;
    sc.skipSpace();
    sc.expect(',');
    sc.skipSpace();
  }
  const d = sc.digits(1, 2);
  sc.skipSpace();
  const mon = MONTHS.indexOf(text.slice(sc.i, sc.i + 3).toLowerCase());
  if (mon < 0) throw new ChronoParseError(sc.i + 3 > text.length ? TOO_SHORT : INVALID);
  sc.i += 3;
  sc.skipSpace();
  const yearStart = sc.i;
  let y = sc.digits(2, 9);
  const yLen = sc.i - yearStart;
  if (yLen === 2) y += y < 50 ? 2000 : 1900;
  else if (yLen === 3) y += 1900;
  sc.skipSpace();
  const h = sc.digits(2, 2);
  sc.skipSpace();
  sc.expect(':');
  sc.skipSpace();
  const mi = sc.digits(2, 2);
  sc.skipSpace();
  let s = 0;
  if (sc.peek() === ':') {
    sc.i++;
    sc.skipSpace();
    s = sc.digits(2, 2);
    sc.skipSpace();
  }
  const offset = zoneOffset(sc, extraZones);
  sc.skipSpace();
  if (sc.peek() === '(') {
    const close = text.lastIndexOf(')');
    if (close < sc.i) throw new ChronoParseError(TOO_SHORT);
    sc.i = close + 1;
    sc.skipSpace();
  }
  if (!sc.done()) throw new ChronoParseError(TOO_LONG);
  return fromFields(y, mon + 1, d, h, mi, s, 0, offset);
}

/** RFC 2822, then KumoMTA's retry with alphabetic zones rewritten; the first error wins. */
export function parseRfc2822(text: string): Instant {
  try {
    return parse2822(text, false);
  } catch (first) {
    if (!/[A-Za-z]+\s*(\([^)]*\))?\s*$/.test(text)) throw first;
    try {
      return parse2822(text, true);
    } catch {
      throw first;
    }
  }
}
