/**
 * UTC instants with nanosecond precision, formatted the way chrono does
 * (clients.md §8.2): RFC 3339 with `+00:00`, RFC 2822 with an unpadded day,
 * Display (`2000-01-02 03:04:05 UTC`) and a lenient strftime where unknown
 * specifiers come out literally.
 */
export interface Instant {
  /** Whole seconds since the epoch (may be negative). */
  secs: number;
  /** 0..999_999_999 */
  nanos: number;
}

export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday */
  weekday: number;
  /** 1-based day of the year */
  ordinal: number;
}

export const MAX_SECS = 8_640_000_000_000; // JS Date's range, ±273,790 years

export function normalize(secs: number, nanos: number): Instant {
  const carry = Math.floor(nanos / 1e9);
  return { secs: secs + carry, nanos: nanos - carry * 1e9 };
}

export function civil(t: Instant): Civil {
  const d = new Date(t.secs * 1000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const startOfDay = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
    ordinal: Math.round((startOfDay - start) / 86_400_000) + 1,
  };
}

const pad = (n: number, width: number, fill = '0') => {
  const s = String(Math.abs(n)).padStart(width, fill);
  return n < 0 ? `-${s}` : s;
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function yearText(y: number): string {
  // chrono: 4 digits, a sign beyond 9999
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return y < 0 ? `-${pad(-y, 4)}` : `+${y}`;
}

/** `.500`, `.000001`, or '' — the shortest of 3/6/9 digits that is exact. */
export function autoFraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${pad(nanos / 1_000_000, 3)}`;
  if (nanos % 1_000 === 0) return `.${pad(nanos / 1_000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

export function formatRfc3339(t: Instant): string {
  const c = civil(t);
  return `${yearText(c.year)}-${pad(c.month, 2)}-${pad(c.day, 2)}T${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}${autoFraction(t.nanos)}+00:00`;
}

export function formatRfc2822(t: Instant): string {
  const c = civil(t);
  return `${DAYS[c.weekday]!.slice(0, 3)}, ${c.day} ${MONTHS[c.month - 1]!.slice(0, 3)} ${pad(c.year, 4)} ${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)} +0000`;
}

export function formatDisplay(t: Instant): string {
  const c = civil(t);
  return `${yearText(c.year)}-${pad(c.month, 2)}-${pad(c.day, 2)} ${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}${autoFraction(t.nanos)} UTC`;
}

/** Week number with weeks starting on `firstDay` (0 Sunday, 1 Monday), as %U / %W. */
function weekOfYear(c: Civil, firstDay: number): number {
  const wd = (c.weekday - firstDay + 7) % 7;
  return Math.floor((c.ordinal - 1 - wd + 7) / 7);
}

function isoWeek(t: Instant): { year: number; week: number } {
  const c = civil(t);
  const isoWeekday = c.weekday === 0 ? 7 : c.weekday;
  const thursday = new Date(Date.UTC(c.year, c.month - 1, c.day + 4 - isoWeekday));
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return { year, week };
}

type Pad = '0' | ' ' | '';

function num(n: number, width: number, defaultPad: Pad, override: Pad | undefined): string {
  const p = override ?? defaultPad;
  if (p === '') return String(n);
  return pad(n, width, p);
}

/** chrono's strftime on a UTC instant. */
export function strftime(t: Instant, fmt: string): string {
  const c = civil(t);
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const start = i;
    let padOverride: Pad | undefined;
    const flag = fmt[i + 1];
    if (flag === '-' || flag === '_' || flag === '0') {
      padOverride = flag === '-' ? '' : flag === '_' ? ' ' : '0';
      i++;
    }
    // Fraction forms: %.f %.3f %.6f %.9f %3f %6f %9f
    const frac = /^(\.?)([369]?)f/.exec(fmt.slice(i + 1));
    if (frac && (frac[1] || frac[2])) {
      i += frac[0].length;
      const digits = frac[2] ? Number(frac[2]) : 0;
      if (digits === 0) out += autoFraction(t.nanos);
      else out += `${frac[1]}${pad(Math.floor(t.nanos / 10 ** (9 - digits)), digits)}`;
      continue;
    }
    const spec = fmt.slice(i + 1, i + 3) === ':z' ? ':z' : fmt[i + 1];
    if (spec === undefined) {
      out += fmt.slice(start);
      break;
    }
    i += spec.length;
    const h12 = c.hour % 12 === 0 ? 12 : c.hour % 12;
    switch (spec) {
      case 'Y': out += padOverride === undefined ? yearText(c.year) : num(c.year, 4, '0', padOverride); break;
      case 'C': out += num(Math.floor(c.year / 100), 2, '0', padOverride); break;
      case 'y': out += num(((c.year % 100) + 100) % 100, 2, '0', padOverride); break;
      case 'm': out += num(c.month, 2, '0', padOverride); break;
      case 'b': case 'h': out += MONTHS[c.month - 1]!.slice(0, 3); break;
      case 'B': out += MONTHS[c.month - 1]; break;
      case 'd': out += num(c.day, 2, '0', padOverride); break;
      case 'e': out += num(c.day, 2, ' ', padOverride); break;
      case 'a': out += DAYS[c.weekday]!.slice(0, 3); break;
      case 'A': out += DAYS[c.weekday]; break;
      case 'w': out += c.weekday; break;
      case 'u': out += c.weekday === 0 ? 7 : c.weekday; break;
      case 'U': out += num(weekOfYear(c, 0), 2, '0', padOverride); break;
      case 'W': out += num(weekOfYear(c, 1), 2, '0', padOverride); break;
      case 'G': out += yearText(isoWeek(t).year); break;
      case 'g': out += num(((isoWeek(t).year % 100) + 100) % 100, 2, '0', padOverride); break;
      case 'V': out += num(isoWeek(t).week, 2, '0', padOverride); break;
      case 'j': out += num(c.ordinal, 3, '0', padOverride); break;
      case 'H': out += num(c.hour, 2, '0', padOverride); break;
      case 'k': out += num(c.hour, 2, ' ', padOverride); break;
      case 'I': out += num(h12, 2, '0', padOverride); break;
      case 'l': out += num(h12, 2, ' ', padOverride); break;
      case 'P': out += c.hour < 12 ? 'am' : 'pm'; break;
      case 'p': out += c.hour < 12 ? 'AM' : 'PM'; break;
      case 'M': out += num(c.minute, 2, '0', padOverride); break;
      case 'S': out += num(c.second, 2, '0', padOverride); break;
      case 'f': out += num(t.nanos, 9, '0', padOverride); break;
      case 'z': out += '+0000'; break;
      case ':z': out += '+00:00'; break;
      case 'Z': out += 'UTC'; break;
      case 's': out += String(t.secs); break;
      case 'D': case 'x': out += strftime(t, '%m/%d/%y'); break;
      case 'F': out += strftime(t, '%Y-%m-%d'); break;
      case 'T': case 'X': out += strftime(t, '%H:%M:%S'); break;
      case 'R': out += strftime(t, '%H:%M'); break;
      case 'r': out += strftime(t, '%I:%M:%S %p'); break;
      case 'c': out += strftime(t, '%a %b %e %H:%M:%S %Y'); break;
      case 'v': out += strftime(t, '%e-%b-%Y'); break;
      case '+': out += formatRfc3339(t); break;
      case '%': out += '%'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      default:
        out += fmt.slice(start, i + 1);
    }
  }
  return out;
}
