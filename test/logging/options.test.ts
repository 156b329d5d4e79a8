import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/logging/humantime.ts';
import { PerRecord } from '../../src/logging/per-record.ts';
import { BoundedQueue } from '../../src/logging/bounded-queue.ts';

describe('durations', () => {
  it('accepts humantime text and numbers of seconds', () => {
    expect(parseDurationMs('d', '5 minutes')).toBe(300_000);
    expect(parseDurationMs('d', '1min')).toBe(60_000);
    expect(parseDurationMs('d', '1h 30m')).toBe(5_400_000);
    expect(parseDurationMs('d', '250ms')).toBe(250);
    expect(parseDurationMs('d', '2days')).toBe(172_800_000);
    expect(parseDurationMs('d', 90)).toBe(90_000);
    expect(parseDurationMs('d', 1.5)).toBe(1_500);
  });

  it('rejects malformed text naming the option', () => {
    expect(() => parseDurationMs("x: option 'max_segment_duration'", '5')).toThrow(/max_segment_duration.*invalid duration/);
    expect(() => parseDurationMs('x', 'soon')).toThrow(/invalid duration/);
    expect(() => parseDurationMs('x', '3 parsecs')).toThrow(/unknown time unit "parsecs"/);
    expect(() => parseDurationMs('x', true)).toThrow(/expected a duration/);
  });
});

describe('per_record resolution (lua-api.md §4.3)', () => {
  const pr = PerRecord.parse('t', {
    Delivery: { suffix: '_d' },
    Bounce: { template: 'B', enable: true },
    Any: { enable: false, template: 'A', log_dir: '/any', segment_header: 'h' },
  });

  it('enable: own entry, then Any, then true', () => {
    expect(pr.isEnabled('Delivery')).toBe(true);
    expect(pr.isEnabled('Delayed')).toBe(false);
    expect(PerRecord.parse('t', {}).isEnabled('Delayed')).toBe(true);
  });

  it('template: an own entry without template means plain JSON, no fallback to Any', () => {
    expect(pr.templateKey('Delivery')).toBeNull();
    expect(pr.templateKey('Bounce')).toBe('Bounce');
    expect(pr.templateKey('Expiration')).toBe('Any');
  });

  it('file settings come from the own entry, else Any', () => {
    expect(pr.fileSettings('Delivery')).toEqual({ logDir: null, suffix: '_d', segmentHeader: '' });
    expect(pr.fileSettings('Delayed')).toEqual({ logDir: '/any', suffix: null, segmentHeader: 'h' });
  });

  it('rejects unknown types and fields and wrong value types', () => {
    expect(() => PerRecord.parse('f', { Any: { enable: 'yes' } })).toThrow("f: per_record.Any: option 'enable' must be a boolean");
    expect(() => PerRecord.parse('f', { Delivered: {} })).toThrow(/unknown option 'Delivered'/);
  });
});

describe('BoundedQueue', () => {
  it('never holds more than its capacity; blocked producers enter in order as room appears', async () => {
    const q = new BoundedQueue<number>(3);
    const pushes = [1, 2, 3, 4, 5].map((n) => q.push(n));
    expect(pushes.slice(0, 3)).toEqual([false, false, false]);
    expect(q.size).toBe(3);
    expect(q.blockedProducers).toBe(2);
    expect(await q.take(2)).toEqual([1, 2]);
    expect(q.size).toBe(3);
    expect(await pushes[3]).toBe(true);
    expect(await q.take(10)).toEqual([3, 4, 5]);
    q.close();
    expect(await q.take(1)).toEqual([]);
    expect(q.fullCount).toBe(2);
  });
});
