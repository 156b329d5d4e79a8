import type { Clock } from '../util/clock.ts';

/** A parsed `[local:]LIMIT/[N]UNIT[,max_burst=B]` throttle spec (engine.md §2.4). */
export interface ThrottleSpec {
  text: string;
  limit: number;
  periodMs: number;
  maxBurst: number;
  local: boolean;
}

export class ThrottleSpecError extends Error {}

const UNIT_SECS: Record<string, number> = {
  s: 1, sec: 1, second: 1,
  m: 60, min: 60, minute: 60,
  h: 3600, hr: 3600, hour: 3600,
  d: 86400, day: 86400,
};

function parseCount(text: string, what: string, spec: string): number {
  const cleaned = text.replace(/[_,]/g, '');
  if (!/^\d+$/.test(cleaned)) throw new ThrottleSpecError(`invalid throttle spec ${JSON.stringify(spec)}: bad ${what} ${JSON.stringify(text)}`);
  const n = Number(cleaned);
  if (n <= 0) throw new ThrottleSpecError(`invalid throttle spec ${JSON.stringify(spec)}: ${what} must be > 0`);
  return n;
}

export function parseThrottleSpec(spec: string): ThrottleSpec {
  let rest = spec.trim();
  let local = false;
  if (rest.startsWith('local:')) {
    local = true;
    rest = rest.slice('local:'.length);
  }
  let maxBurst: number | null = null;
  const burstAt = rest.indexOf(',max_burst=');
  if (burstAt >= 0) {
    maxBurst = parseCount(rest.slice(burstAt + ',max_burst='.length), 'max_burst', spec);
    rest = rest.slice(0, burstAt);
  }
  const slash = rest.indexOf('/');
  if (slash < 0) throw new ThrottleSpecError(`invalid throttle spec ${JSON.stringify(spec)}: expected LIMIT/PERIOD`);
  const limit = parseCount(rest.slice(0, slash), 'limit', spec);
  const m = /^(\d*)([a-z]+)$/.exec(rest.slice(slash + 1).trim());
  const unit = m ? UNIT_SECS[m[2]!] : undefined;
  if (!m || unit === undefined) throw new ThrottleSpecError(`invalid throttle spec ${JSON.stringify(spec)}: unknown period ${JSON.stringify(rest.slice(slash + 1))}`);
  const multiplier = m[1] ? Number(m[1]) : 1;
  if (multiplier <= 0) throw new ThrottleSpecError(`invalid throttle spec ${JSON.stringify(spec)}: period multiplier must be > 0`);
  return { text: spec, limit, periodMs: multiplier * unit * 1000, maxBurst: maxBurst ?? limit, local };
}

/** One GCRA decision with the figures `kumo.make_throttle`'s `throttle()` reports. */
export interface ThrottleDecision {
  throttled: boolean;
  /** Calls allowed in a burst (max_burst). */
  limit: number;
  /** Further calls allowed right now. */
  remaining: number;
  /** Until the state is back to empty, rounded up to whole seconds. */
  resetAfterMs: number;
  /** When throttled: the wait, rounded up to whole seconds; else null. */
  retryAfterMs: number | null;
}

const ceilSecondsMs = (ms: number): number => Math.ceil(Math.max(0, ms) / 1000) * 1000;

/**
 * Process-local Generic Cell Rate Algorithm keyed by name. `check` consumes
 * one cell when allowed; when throttled it returns the wait in whole seconds
 * (rounded up), as KumoMTA reports `retry_after`.
 */
export class Throttles {
  private tat = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  check(key: string, spec: ThrottleSpec): { retryAfterMs: number | null } {
    return { retryAfterMs: this.evaluate(key, spec).retryAfterMs };
  }

  evaluate(key: string, spec: ThrottleSpec): ThrottleDecision {
    const fullKey = `${key}:${spec.limit}:${spec.maxBurst}:${spec.periodMs}`;
    const now = this.clock.now();
    const emission = spec.periodMs / spec.limit;
    const tolerance = emission * (spec.maxBurst - 1);
    const tat = Math.max(this.tat.get(fullKey) ?? now, now);
    const allowAt = tat - tolerance;
    if (now < allowAt) {
      return { throttled: true, limit: spec.maxBurst, remaining: 0, resetAfterMs: ceilSecondsMs(tat - now), retryAfterMs: ceilSecondsMs(allowAt - now) };
    }
    const newTat = tat + emission;
    this.tat.set(fullKey, newTat);
    const remaining = Math.max(0, Math.floor((now + tolerance + emission - newTat) / emission));
    return { throttled: false, limit: spec.maxBurst, remaining, resetAfterMs: ceilSecondsMs(newTat - now), retryAfterMs: null };
  }
}
