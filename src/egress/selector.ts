/**
 * The per-scheduled-queue source selector (lua-api-more.md §1.4): LVS
 * weighted round robin. `index` and `current` persist across calls even
 * though the candidate list may shrink (suspended or full sources), as in
 * KumoMTA; a fresh selector therefore picks the second candidate first.
 */
import type { EgressPool, PoolEntry } from './pool.ts';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export class WeightedRoundRobin {
  private index = 0;
  private current = 0;
  /** The pool's entries with weight 0 dropped. */
  readonly entries: readonly PoolEntry[];

  constructor(readonly pool: EgressPool) {
    this.entries = pool.entries.filter((e) => e.weight > 0);
  }

  /**
   * KumoMTA rebuilds the selector when the pool's name or entries changed,
   * comparing its filtered entries with the new unfiltered ones: a pool with a
   * weight-0 member is rebuilt (state reset) on every refresh.
   */
  differsFrom(pool: EgressPool): boolean {
    if (pool.name !== this.pool.name || pool.entries.length !== this.entries.length) return true;
    return pool.entries.some((e, i) => e.name !== this.entries[i]!.name || e.weight !== this.entries[i]!.weight);
  }

  /** One pick among `candidates`, or null when none can be picked. */
  pick(candidates: readonly PoolEntry[]): PoolEntry | null {
    const n = candidates.length;
    if (n === 0) return null;
    if (n === 1) return candidates[0]!;
    const weights = candidates.map((e) => e.weight);
    const max = Math.max(...weights);
    if (max === 0) return null;
    const step = weights.reduce(gcd);
    for (;;) {
      this.index = (this.index + 1) % n;
      if (this.index === 0) {
        this.current = Math.max(this.current - step, 0);
        if (this.current === 0) this.current = max;
      }
      if (candidates[this.index]!.weight >= this.current) return candidates[this.index]!;
    }
  }
}
