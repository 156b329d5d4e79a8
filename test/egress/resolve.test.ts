import { describe, expect, it } from 'vitest';
import { EgressResolver, NO_EGRESS_EVENTS } from '../../src/egress/resolve.ts';
import { parseEgressSource } from '../../src/egress/source.ts';
import { parseEgressPool } from '../../src/egress/pool.ts';
import { VirtualClock } from '../../src/util/clock.ts';

describe('EgressResolver', () => {
  it('single-flight: concurrent misses fire the event once; a failure is not cached', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    let fail = true;
    const r = new EgressResolver(clock, {
      source: async (name) => {
        calls++;
        await Promise.resolve();
        if (fail) throw new Error('not yet');
        return parseEgressSource({ name });
      },
      pool: async (name) => parseEgressPool({ name }),
    });
    await expect(Promise.all([r.source('a'), r.source('a')])).rejects.toThrow("get_egress_source 'a': not yet");
    expect(calls).toBe(1);
    fail = false;
    const [x, y] = await Promise.all([r.source('a'), r.source('a')]);
    expect(x).toBe(y);
    expect(calls).toBe(2);
  });

  it('evicts the least recently used definition beyond capacity', async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const r = new EgressResolver(clock, { ...NO_EGRESS_EVENTS, source: async (name) => (seen.push(name), parseEgressSource({ name })) });
    r.setCapacity('egress_source_sources', 2);
    for (const n of ['a', 'b', 'a', 'c', 'a', 'b']) await r.source(n);
    expect(seen).toEqual(['a', 'b', 'c', 'b']);
  });

  it('tracks source health suspensions until they expire', () => {
    const clock = new VirtualClock();
    const r = new EgressResolver(clock, NO_EGRESS_EVENTS);
    r.suspendSource('a', clock.now() + 5000);
    expect(r.sourceSuspension('a')).toBe(5000);
    expect(r.sourceSuspension('b')).toBeNull();
    expect(r.sourceSuspension('a', clock.now() + 5000)).toBeNull();
  });
});

describe('source health rules (suspend_when_unplumbed / suspend_when_proxy_unhealthy)', () => {
  it('Immediate suspends on the first failure for `duration`; no rule never suspends', () => {
    const clock = new VirtualClock();
    const r = new EgressResolver(clock, NO_EGRESS_EVENTS);
    const src = parseEgressSource({ name: 'a', suspend_when_unplumbed: { duration: '5m' } });
    expect(r.reportFailure(src, 'proxy')).toBe(false);
    expect(r.reportFailure(src, 'unplumbed')).toBe(true);
    expect(r.sourceSuspension('a')).toBe(300_000);
  });

  it('a Threshold suspends once failures exceed N per period', () => {
    const clock = new VirtualClock();
    const r = new EgressResolver(clock, NO_EGRESS_EVENTS);
    const src = parseEgressSource({ name: 'b', suspend_when_proxy_unhealthy: { trigger: { Threshold: '3/min' }, duration: 60 } });
    expect([1, 2, 3].map(() => r.reportFailure(src, 'proxy'))).toEqual([false, false, false]);
    expect(r.reportFailure(src, 'proxy')).toBe(true);
    expect(r.sourceSuspension('b')).toBe(60_000);
    expect(() => parseEgressSource({ name: 'c', suspend_when_proxy_unhealthy: { trigger: { Threshold: 'often' }, duration: 60 } })).toThrow(/Threshold/);
  });
});
