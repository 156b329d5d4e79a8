import { describe, expect, it } from 'vitest';
import { Message } from '../../src/message/message.ts';
import { parseQueueConfig } from '../../src/queue/queue-config.ts';
import { delayForAttemptSecs, incrementAttemptsAndDecide, inferNumAttempts, jitterSecs, requeueWithoutIncrement } from '../../src/queue/retry.ts';

const T0 = Date.UTC(2026, 0, 1);
const msgAt = (createdMs: number) => new Message({ sender: 's@x', recipients: ['r@y'], data: new Uint8Array([1]), createdMs });

describe('retry math (engine.md §3)', () => {
  it('doubles from retry_interval and caps before jitter', () => {
    const d = parseQueueConfig({});
    expect([0, 1, 2, 3].map((n) => delayForAttemptSecs(d, n))).toEqual([1200, 2400, 4800, 9600]);
    const capped = parseQueueConfig({ retry_interval: '1m', max_retry_interval: '20m' });
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => delayForAttemptSecs(capped, n))).toEqual([60, 120, 240, 480, 960, 1200, 1200]);
    expect(delayForAttemptSecs(parseQueueConfig({ retry_interval: '1.9s' }), 0)).toBe(1);
  });

  it('jitters by ±retry_interval/40, at most ±30 s, truncated', () => {
    const d = parseQueueConfig({});
    expect(jitterSecs(d, () => 0)).toBe(-30);
    expect(jitterSecs(d, () => 0.999999)).toBe(29);
    expect(jitterSecs(d, () => 0.5)).toBe(0);
    const m = parseQueueConfig({ retry_interval: '1m' });
    expect(new Set([0, 0.2, 0.5, 0.8, 0.99].map((r) => jitterSecs(m, () => r)))).toEqual(new Set([-1, 0, 1]));
    expect(jitterSecs(parseQueueConfig({ retry_interval: '39s' }), () => 0)).toBe(-0);
  });

  it('expires at the failure whose next attempt passes max_age, with the variant A text', () => {
    const config = parseQueueConfig({});
    const msg = msgAt(T0);
    let now = T0;
    const attemptTimes: number[] = [now];
    for (let i = 0; i < 20; i++) {
      const d = incrementAttemptsAndDecide(msg, config, now, () => 0.5);
      if (d.kind === 'expire') {
        expect(msg.numAttempts).toBe(9);
        expect((now - T0) / 3_600_000).toBe(85);
        expect(d.text).toBe('Next delivery time would be 7days 2h 20m after creation, which exceeds max_age=7days');
        break;
      }
      now = d.dueMs;
      attemptTimes.push(now);
    }
    expect(attemptTimes.map((t) => (t - T0) / 60_000)).toEqual([0, 20, 60, 140, 300, 620, 1260, 2540, 5100]);
  });

  it('uses the set_scheduling expiry instead of max_age', () => {
    const msg = msgAt(T0);
    msg.scheduling = { expires: new Date(T0 + 30 * 60_000).toISOString() };
    const d = incrementAttemptsAndDecide(msg, parseQueueConfig({ max_age: '1s' }), T0 + 1_000, () => 0.5);
    expect(d).toEqual({ kind: 'retry', dueMs: T0 + 1_000 + 1_200_000 });
    const e = incrementAttemptsAndDecide(msg, parseQueueConfig({}), T0 + 1_300_000, () => 0.5);
    expect(e).toEqual({ kind: 'expire', text: 'Next delivery time would be at 2026-01-01 01:01:40 UTC which exceeds the expiry time 2026-01-01 00:30:00 UTC configured via set_scheduling' });
  });

  it('requeue without increment: explicit delay or random whole seconds below 60', () => {
    const msg = msgAt(T0);
    const config = parseQueueConfig({ max_age: '1h' });
    expect(requeueWithoutIncrement(msg, config, T0, 5000, () => 0.9)).toEqual({ kind: 'retry', dueMs: T0 + 5000 });
    expect(requeueWithoutIncrement(msg, config, T0, null, () => 0.999)).toEqual({ kind: 'retry', dueMs: T0 + 59_000 });
    expect(requeueWithoutIncrement(msg, config, T0 + 3_599_000, 1000, () => 0).kind).toBe('expire');
    expect(msg.numAttempts).toBe(0);
  });

  it('infers attempts from age', () => {
    const d = parseQueueConfig({});
    expect(inferNumAttempts(d, 0)).toBe(0);
    expect(inferNumAttempts(d, 1_199_000)).toBe(0);
    expect(inferNumAttempts(d, 1_200_000)).toBe(1);
    expect(inferNumAttempts(d, 3_600_000)).toBe(2);
    const capped = parseQueueConfig({ retry_interval: '1m', max_retry_interval: '2m' });
    expect(inferNumAttempts(capped, 60_000 + 120_000 * 10)).toBe(11);
  });
});
