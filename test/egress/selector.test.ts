import { describe, expect, it } from 'vitest';
import { WeightedRoundRobin } from '../../src/egress/selector.ts';
import type { EgressPool } from '../../src/egress/pool.ts';

function pool(entries: [string, number][], name = 'p'): EgressPool {
  return { name, entries: entries.map(([n, weight]) => ({ name: n, weight })), ttlMs: 60_000 };
}

function picks(sel: WeightedRoundRobin, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(sel.pick(sel.entries)?.name ?? 'none');
  return out;
}

describe('weighted round robin (lua-api-more §1.4)', () => {
  it('5/2/3 gives exactly 50/20/30 per 100 picks', () => {
    const sel = new WeightedRoundRobin(pool([['a', 5], ['b', 2], ['c', 3]]));
    const counts: Record<string, number> = {};
    for (const p of picks(sel, 100)) counts[p] = (counts[p] ?? 0) + 1;
    expect(counts).toEqual({ a: 50, b: 20, c: 30 });
  });

  it('a fresh selector picks the second entry first', () => {
    expect(picks(new WeightedRoundRobin(pool([['a', 1], ['b', 1], ['c', 1]])), 4)).toEqual(['b', 'c', 'a', 'b']);
    expect(picks(new WeightedRoundRobin(pool([['a', 5], ['b', 2]])), 3)).toEqual(['b', 'a', 'a']);
  });

  it('weight-0 entries are dropped; only weight 0 leaves nothing to pick', () => {
    const sel = new WeightedRoundRobin(pool([['a', 0], ['b', 0]]));
    expect(sel.entries).toEqual([]);
    expect(sel.pick(sel.entries)).toBeNull();
    const one = new WeightedRoundRobin(pool([['a', 0], ['b', 3]]));
    expect(picks(one, 3)).toEqual(['b', 'b', 'b']);
  });

  it('keeps its state across calls with a shrinking candidate list', () => {
    const sel = new WeightedRoundRobin(pool([['a', 1], ['b', 1], ['c', 1]]));
    expect(sel.pick(sel.entries)!.name).toBe('b');
    // index is now 1: with two candidates the next index wraps to 0.
    expect(sel.pick([sel.entries[0]!, sel.entries[2]!])!.name).toBe('a');
  });

  it('is rebuilt only when the pool changed, and always when it has a weight-0 member (KumoMTA quirk)', () => {
    const sel = new WeightedRoundRobin(pool([['a', 2], ['b', 1]]));
    expect(sel.differsFrom(pool([['a', 2], ['b', 1]]))).toBe(false);
    expect(sel.differsFrom(pool([['a', 2], ['b', 2]]))).toBe(true);
    expect(sel.differsFrom(pool([['a', 2], ['b', 1]], 'other'))).toBe(true);
    const withZero = new WeightedRoundRobin(pool([['a', 2], ['z', 0]]));
    expect(withZero.differsFrom(pool([['a', 2], ['z', 0]]))).toBe(true);
  });
});
