/**
 * Per-message scheduling (`msg:set_scheduling`, `msg:set_due`, lua-api.md
 * §11.1): an optional first attempt time, an expiry, and a weekly delivery
 * window (`dow` days, `start`..`end` local time in `tz`).
 */
import type { JsonValue } from '../util/json.ts';
import type { Scheduling } from './message.ts';

export class SchedulingError extends Error {}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const SCHEDULING_KEYS = ['first_attempt', 'expires', 'dow', 'tz', 'start', 'end'] as const;
const WINDOW_KEYS = ['dow', 'tz', 'start', 'end'] as const;

/** Milliseconds since the epoch of an RFC 3339 timestamp, or a SchedulingError naming `field`. */
export function parseRfc3339(text: string, field: string): number {
  const ms = RFC3339.test(text) ? Date.parse(text.replace(' ', 'T')) : NaN;
  if (Number.isNaN(ms)) throw new SchedulingError(`${field}: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  return ms;
}

/** RFC 3339 in UTC the way chrono's to_rfc3339 writes it: `2024-05-01T10:00:00+00:00`. */
export function formatRfc3339Utc(ms: number): string {
  const iso = new Date(ms).toISOString();
  const frac = ms % 1000 === 0 ? '' : iso.slice(19, 23);
  return `${iso.slice(0, 19)}${frac}+00:00`;
}

function minutesOfDay(text: string, field: string): number {
  const m = CLOCK.exec(text);
  const h = m ? Number(m[1]) : NaN;
  const min = m ? Number(m[2]) : NaN;
  if (!m || h > 24 || min > 59 || (h === 24 && min > 0)) throw new SchedulingError(`${field}: ${JSON.stringify(text)} is not a HH:MM time`);
  return h * 60 + min;
}

const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0];
const DAY_LABELS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** `H:MM[:SS]` as `HH:MM:SS` (already validated by minutesOfDay). */
function clockText(text: string): string {
  const m = CLOCK.exec(text)!;
  return `${m[1]!.padStart(2, '0')}:${m[2]}:${m[3] ?? '00'}`;
}

function parseDays(text: string): Set<number> {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const idx = DAY_NAMES.indexOf(part.trim().slice(0, 3).toLowerCase());
    if (idx < 0 || part.trim().length < 3) throw new SchedulingError(`dow: ${JSON.stringify(part.trim())} is not a day of the week`);
    days.add(idx);
  }
  return days;
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new SchedulingError(`tz: ${JSON.stringify(tz)} is not a known time zone`);
  }
}

/** Validates a set_scheduling table (already converted to JSON). */
export function parseScheduling(v: JsonValue): Scheduling {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchedulingError('set_scheduling expects a table or nil');
  const o = v as Record<string, JsonValue>;
  for (const k of Object.keys(o)) {
    if (!(SCHEDULING_KEYS as readonly string[]).includes(k)) throw new SchedulingError(`set_scheduling: invalid field name ${k}`);
    if (o[k] !== null && typeof o[k] !== 'string') throw new SchedulingError(`set_scheduling: '${k}' must be a string`);
  }
  const out: Scheduling = {};
  if (typeof o.first_attempt === 'string') (parseRfc3339(o.first_attempt, 'first_attempt'), (out.first_attempt = o.first_attempt));
  if (typeof o.expires === 'string') (parseRfc3339(o.expires, 'expires'), (out.expires = o.expires));
  const present = WINDOW_KEYS.filter((k) => typeof o[k] === 'string');
  if (present.length > 0 && present.length < WINDOW_KEYS.length) {
    const missing = WINDOW_KEYS.filter((k) => !present.includes(k));
    throw new SchedulingError(`set_scheduling: dow, tz, start and end go together; missing ${missing.join(', ')}`);
  }
  if (present.length === WINDOW_KEYS.length) {
    const days = parseDays(o.dow as string);
    checkTimeZone(o.tz as string);
    const start = minutesOfDay(o.start as string, 'start');
    const end = minutesOfDay(o.end as string, 'end');
    if (end <= start) throw new SchedulingError(`set_scheduling: end (${o.end}) must be after start (${o.start})`);
    // Stored the way KumoMTA reports it back: three-letter days in week order, HH:MM:SS.
    const dow = WEEK_ORDER.filter((d) => days.has(d)).map((d) => DAY_LABELS[d]).join(',');
    Object.assign(out, { dow, tz: o.tz, start: clockText(o.start as string), end: clockText(o.end as string) });
  }
  return out;
}

/** The scheduling as the table set_scheduling returns (absent times are JSON null). */
export function schedulingJson(s: Scheduling): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { first_attempt: s.first_attempt ?? null, expires: s.expires ?? null };
  if (s.dow !== undefined) Object.assign(out, { dow: s.dow, tz: s.tz, start: s.start, end: s.end });
  return out;
}

interface LocalTime {
  day: number;
  minutes: number;
  secondsMs: number;
}

function localTime(fmt: Intl.DateTimeFormat, ms: number): LocalTime {
  const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const hour = Number(parts.hour) % 24;
  return {
    day: DAY_NAMES.indexOf(String(parts.weekday).slice(0, 3).toLowerCase()),
    minutes: hour * 60 + Number(parts.minute),
    secondsMs: Number(parts.second) * 1000 + (ms % 1000),
  };
}

/** The first instant at or after `ms` inside the weekly window. */
function nextInWindow(s: Scheduling, ms: number): number {
  const days = parseDays(s.dow!);
  const start = minutesOfDay(s.start!, 'start');
  const end = minutesOfDay(s.end!, 'end');
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: s.tz, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  let t = ms;
  // Each step lands on a day boundary or the window start; DST shifts are
  // corrected on the next look, so a couple of weeks of steps always suffice.
  for (let i = 0; i < 64; i++) {
    const lt = localTime(fmt, t);
    if (days.has(lt.day) && lt.minutes >= start && lt.minutes < end) return t;
    const base = t - lt.secondsMs;
    const jumpMinutes = days.has(lt.day) && lt.minutes < start ? start - lt.minutes : 1440 - lt.minutes;
    t = base + jumpMinutes * 60_000;
  }
  throw new SchedulingError('set_scheduling: the delivery window never opens');
}

/**
 * The due time after applying scheduling: not before first_attempt and inside
 * the window. null means "now" (no constraint moved it).
 */
export function effectiveDue(dueMs: number | null, s: Scheduling | null, nowMs: number): number | null {
  let due = dueMs;
  if (s?.first_attempt) {
    const first = parseRfc3339(s.first_attempt, 'first_attempt');
    if (first > (due ?? nowMs)) due = first;
  }
  if (s?.dow !== undefined) {
    const from = due ?? nowMs;
    const next = nextInWindow(s, from);
    if (next !== from) due = next;
  }
  return due;
}
