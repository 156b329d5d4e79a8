import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

describe('kumo.counter_series (§3.12)', () => {
  it('counts per bucket, rolls buckets off, sums over a duration', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const t = newLua({ clock });
    await t.eval("S = kumo.counter_series.define { name = 'rcpt', num_buckets = 3, bucket_size = '10s', initial_value = 5 }");
    await t.eval('S:increment(2)');
    expect(await t.eval('return S:sum()')).toBe(7);
    await clock.advance(10_000);
    await t.eval('S:increment(1) S:delta(-10)');
    expect(await t.eval("return { S:sum(), S:sum_over('10s'), S:sum_over(20) }")).toEqual([7, 0, 7]);
    await t.eval('S:observe(4)');
    await clock.advance(20_000);
    expect(await t.eval('return S:sum()')).toBe(4);
    await clock.advance(10_000);
    expect(await t.eval('return S:sum()')).toBe(0);
  });

  it('is cached by name; a new shape replaces it; bucket_size rounds up to seconds', async () => {
    const t = newLua();
    await t.eval("A = kumo.counter_series.define { name = 'x', num_buckets = 2, bucket_size = 1 } A:increment(3)");
    expect(await t.eval("return kumo.counter_series.define { name = 'x', num_buckets = 2, bucket_size = '500ms' }:sum()")).toBe(3);
    expect(await t.eval("return kumo.counter_series.define { name = 'x', num_buckets = 4, bucket_size = 1 }:sum()")).toBe(0);
    expect(await errorOf(t.eval("kumo.counter_series.define { name = 'y', num_buckets = 0, bucket_size = 1 }"))).toMatch(/num_buckets/);
    expect(await errorOf(t.eval("kumo.counter_series.define { name = 'y', num_buckets = 1 }"))).toMatch(/missing field `bucket_size`/);
  });
});
