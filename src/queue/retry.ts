import type { Message } from '../message/message.ts';
import { formatHumantime } from '../util/duration.ts';
import type { QueueConfig } from './queue-config.ts';

/** Attempt counts are u16 in KumoMTA. */
const MAX_ATTEMPTS = 65_535;

/** Whole-second delay before the attempt after `n` failures (n = count before increment). */
export function delayForAttemptSecs(config: QueueConfig, n: number): number {
  const base = Math.floor(config.retryIntervalMs / 1000);
  let d = n >= 1024 ? (base === 0 ? 0 : Infinity) : base * 2 ** n;
  if (config.maxRetryIntervalMs !== null) d = Math.min(d, Math.floor(config.maxRetryIntervalMs / 1000));
  return d;
}

/** Uniform in [-mag/2, +mag/2) with mag = min(retry_interval/20, 60) s, truncated toward zero. */
export function jitterSecs(config: QueueConfig, random: () => number): number {
  const mag = Math.min(Math.floor(config.retryIntervalMs / 1000) / 20, 60);
  return Math.trunc(random() * mag - mag / 2);
}

/** Largest n with Σ_{i<n} delayForAttempt(i) ≤ age: the attempts a message of that age has had. */
export function inferNumAttempts(config: QueueConfig, ageMs: number): number {
  const ageSecs = ageMs / 1000;
  let sum = 0;
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    const d = delayForAttemptSecs(config, n);
    if (d === 0) return n;
    if (d === delayForAttemptSecs(config, n + 1)) {
      // Capped from here on: the rest is arithmetic.
      const more = Math.floor((ageSecs - sum) / d);
      return Math.min(MAX_ATTEMPTS, more < 0 ? n : n + more);
    }
    if (sum + d > ageSecs) return n;
    sum += d;
  }
  return MAX_ATTEMPTS;
}

export type RetryDecision =
  | { kind: 'retry'; dueMs: number }
  | { kind: 'expire'; text: string };

/** Parses the `expires` of a message schedule; null when absent or unparsable. */
export function scheduleExpiresMs(msg: Message): number | null {
  const expires = msg.scheduling?.expires;
  if (!expires) return null;
  const t = Date.parse(expires);
  return Number.isNaN(t) ? null : t;
}

/** chrono's `YYYY-MM-DD HH:MM:SS[.frac] UTC` rendering used by the set_scheduling expiry text. */
export function formatChronoUtc(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.123Z
  const [date, rest] = iso.split('T') as [string, string];
  let time = rest.slice(0, -1);
  if (time.endsWith('.000')) time = time.slice(0, -4);
  return `${date} ${time} UTC`;
}

export function expiresText(nextDueMs: number, expiresMs: number): string {
  return `Next delivery time would be at ${formatChronoUtc(nextDueMs)} which exceeds the expiry time ${formatChronoUtc(expiresMs)} configured via set_scheduling`;
}

export function maxAgeText(wouldBeAgeMs: number, maxAgeMs: number): string {
  return `Next delivery time would be ${formatHumantime(wouldBeAgeMs)} after creation, which exceeds max_age=${formatHumantime(maxAgeMs)}`;
}

/**
 * A transient failure's requeue (engine.md §3.2): computes the jittered delay
 * from the pre-increment count, increments `msg.numAttempts`, then decides
 * between a new due time and expiry (variant A or D).
 */
export function incrementAttemptsAndDecide(msg: Message, config: QueueConfig, nowMs: number, random: () => number): RetryDecision {
  const n = msg.numAttempts;
  let delaySecs = delayForAttemptSecs(config, n);
  msg.numAttempts = Math.min(MAX_ATTEMPTS, n + 1);
  delaySecs += jitterSecs(config, random);
  const delayMs = delaySecs * 1000;
  const expires = scheduleExpiresMs(msg);
  if (expires !== null) {
    const nextDue = nowMs + delayMs;
    return nextDue >= expires ? { kind: 'expire', text: expiresText(nextDue, expires) } : { kind: 'retry', dueMs: nextDue };
  }
  const age = msg.ageMs(nowMs);
  if (age + delayMs > config.maxAgeMs) return { kind: 'expire', text: maxAgeText(age + delayMs, config.maxAgeMs) };
  return { kind: 'retry', dueMs: nowMs + delayMs };
}

/**
 * Requeue without incrementing (engine.md §3.3): an explicit delay is used
 * as is, otherwise a random whole number of seconds in [0, 60).
 */
export function requeueWithoutIncrement(msg: Message, config: QueueConfig, nowMs: number, delayMs: number | null, random: () => number): RetryDecision {
  const due = nowMs + (delayMs ?? Math.floor(random() * 60) * 1000);
  const dueAge = due - msg.createdMs;
  if (dueAge >= config.maxAgeMs) {
    return { kind: 'expire', text: `Next delivery time ${chronoDuration(dueAge)} > ${chronoDuration(config.maxAgeMs)}` };
  }
  return { kind: 'retry', dueMs: due };
}

/** ISO-8601-like rendering of chrono's TimeDelta Display (engine.md §16 item 2: approximate). */
export function chronoDuration(ms: number): string {
  const secs = Math.floor(ms / 1000);
  const frac = ms - secs * 1000;
  const days = Math.floor(secs / 86400);
  const rest = secs % 86400;
  let out = 'P';
  if (days) out += `${days}D`;
  if (rest || frac || !days) {
    out += `T${rest}`;
    if (frac) out += '.' + String(Math.round(frac * 1e6)).padStart(9, '0').replace(/0+$/, '');
    out += 'S';
  }
  return out;
}
