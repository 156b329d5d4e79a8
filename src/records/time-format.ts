/**
 * Time rendering for log records (log-record.md §4.4) and segment file names
 * (lua-api.md §7.2): UTC, with a fraction of 0, 3, 6 or 9 digits, the
 * shortest one that is exact.
 */

/** An instant split into whole Unix seconds and the nanoseconds within that second. */
export interface Instant {
  secs: number;
  nanos: number;
}

/** `""`, `.123`, `.123456` or `.123456789` for a nanosecond count in [0, 1e9). */
export function formatFraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return '.' + String(nanos / 1_000_000).padStart(3, '0');
  if (nanos % 1_000 === 0) return '.' + String(nanos / 1_000).padStart(6, '0');
  return '.' + String(nanos).padStart(9, '0');
}

// Records arrive in bursts within the same second; formatting the date part once per second saves a Date
// per field. Two slots because event_time and created_time alternate between two seconds.
const cacheSecs = [NaN, NaN];
const cacheBase = ['', ''];
let cacheNext = 0;

function datePart(secs: number): string {
  if (cacheSecs[0] === secs) return cacheBase[0]!;
  if (cacheSecs[1] === secs) return cacheBase[1]!;
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  cacheSecs[cacheNext] = secs;
  cacheBase[cacheNext] = base;
  cacheNext ^= 1;
  return base;
}

/** `2025-09-12T11:08:01.440Z` style RFC 3339 text. */
export function formatRfc3339(instant: Instant): string {
  return datePart(instant.secs) + formatFraction(instant.nanos) + 'Z';
}

/** `20250912-110801.440` style segment file name stem. */
export function formatSegmentStamp(instant: Instant): string {
  const iso = new Date(instant.secs * 1000).toISOString();
  const stamp = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + '-' + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  return stamp + formatFraction(instant.nanos);
}

/**
 * Milliseconds (possibly fractional, e.g. from a high-resolution clock) as an
 * Instant. A fractional part is kept to the microsecond: finer digits of a
 * double around 1.7e12 are noise.
 */
export function instantFromMs(ms: number): Instant {
  const secs = Math.floor(ms / 1000);
  const remMs = ms - secs * 1000;
  let nanos = Number.isInteger(remMs) ? remMs * 1_000_000 : Math.round(remMs * 1000) * 1000;
  if (nanos >= 1_000_000_000) return { secs: secs + 1, nanos: nanos - 1_000_000_000 };
  if (nanos < 0) nanos = 0;
  return { secs, nanos };
}

// The Gregorian epoch (1582-10-15) lies this many whole seconds before the Unix epoch.
const GREGORIAN_OFFSET_SECS = 12_219_292_800;
const SPOOL_ID_RE = /^[0-9a-f]{32}$/;
// 2^32 = 429 * 1e7 + 4_967_296: lets the 60-bit tick count be divided without BigInt or precision loss.
const TWO32_SECS = 429;
const TWO32_REM_TICKS = 4_967_296;

/**
 * Creation instant embedded in a UUID v1 spool id, at its full 100 ns
 * resolution (createdMsFromSpoolId only gives milliseconds).
 */
export function createdInstantFromSpoolId(id: string): Instant {
  if (!SPOOL_ID_RE.test(id)) throw new Error(`invalid spool id: ${id}`);
  const timeLow = parseInt(id.slice(0, 8), 16);
  const timeMid = parseInt(id.slice(8, 12), 16);
  const timeHigh = parseInt(id.slice(12, 16), 16) & 0x0fff;
  const high = timeHigh * 65536 + timeMid; // ticks = high * 2^32 + timeLow
  const low = high * TWO32_REM_TICKS + timeLow; // < 2^53
  const secs = high * TWO32_SECS + Math.floor(low / 10_000_000) - GREGORIAN_OFFSET_SECS;
  return { secs, nanos: (low % 10_000_000) * 100 };
}
