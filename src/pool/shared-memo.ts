/**
 * The main thread's side of kumo.memoize for worker states (worker-memoize.ts):
 * one cache per memoize name, shared by every worker, with the same TTL, LRU
 * and one-populator-per-key rules as the main state's (MemoCache).
 */
import { MemoCache } from '../kumo/support/memo-cache.ts';
import type { Clock } from '../util/clock.ts';
import type { WireJson } from './wire.ts';
import type { SharedMemoOptions } from './worker-memoize.ts';

export class SharedMemo {
  private readonly caches = new Map<string, { cache: MemoCache<WireJson[]>; invalidateWithEpoch: boolean }>();

  constructor(private readonly clock: Clock) {}

  private cacheFor(o: SharedMemoOptions): MemoCache<WireJson[]> {
    let c = this.caches.get(o.name);
    if (!c) {
      c = { cache: new MemoCache<WireJson[]>(o, this.clock), invalidateWithEpoch: o.invalidateWithEpoch };
      this.caches.set(o.name, c);
    }
    return c.cache;
  }

  /** ['hit', ...values] or ['miss'] (the caller populates, then store() or abandon()). */
  async lookup(o: SharedMemoOptions, key: string): Promise<WireJson[]> {
    const cache = this.cacheFor(o);
    for (let i = 0; i < 1000; i++) {
      const found = cache.lookup(key);
      if (found.status === 'hit') return ['hit', ...found.value];
      if (found.status === 'miss') return ['miss'];
      const settled = await cache.wait(key);
      if (!settled && !o.retryOnPopulateTimeout) throw new Error(`kumo.memoize ${o.name}: timed out waiting for another caller to populate the cache`);
    }
    return ['miss'];
  }

  store(name: string, key: string, values: WireJson[]): void {
    this.caches.get(name)?.cache.store(key, values);
  }

  abandon(name: string, key: string): void {
    this.caches.get(name)?.cache.abandon(key);
  }

  /** A config epoch bump: caches made with invalidate_with_epoch empty. */
  bumpEpoch(): void {
    for (const c of this.caches.values()) if (c.invalidateWithEpoch) c.cache.clear();
  }
}
