/**
 * Resolution of egress sources and pools (lua-api-more.md §1.3): the built-in
 * `unspecified` never reaches the policy; other names fire `get_egress_source`
 * / `get_egress_pool` on a cache miss and the answer is kept for its `ttl`
 * (process-wide LRU caches of 128 entries, `egress_source_sources` and
 * `egress_source_pools`). Resolving a pool resolves every member source.
 * Source health (auto-suspension after unplumbed binds or proxy failures) is
 * kept here too, since every selector in the process must see it.
 */
import type { Clock } from '../util/clock.ts';
import { Throttles } from '../queue/throttle.ts';
import { isBuiltInPool, UNSPECIFIED_POOL, type EgressPool } from './pool.ts';
import { UNSPECIFIED_SOURCE, type EgressSource } from './source.ts';

/** How a definition is obtained from the policy (the Lua events in the daemon). */
export interface EgressDefinitions {
  source(name: string): Promise<EgressSource>;
  pool(name: string): Promise<EgressPool>;
}

export const DEFAULT_EGRESS_CACHE_CAPACITY = 128;

interface Entry<T> {
  value: Promise<T>;
  /** Set once the value arrived; until then concurrent callers share the promise. */
  expires: number;
}

/** A TTL cache with LRU eviction and single-flight population. */
class TtlCache<T> {
  private readonly map = new Map<string, Entry<T>>();

  constructor(private readonly clock: Clock, public capacity: number) {}

  get(key: string, load: () => Promise<T>, ttlOf: (v: T) => number): Promise<T> {
    const now = this.clock.now();
    const hit = this.map.get(key);
    if (hit && now < hit.expires) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit.value;
    }
    const entry: Entry<T> = { value: load(), expires: Infinity };
    this.map.set(key, entry);
    entry.value.then(
      (v) => {
        entry.expires = this.clock.now() + ttlOf(v);
      },
      () => {
        if (this.map.get(key) === entry) this.map.delete(key);
      },
    );
    while (this.map.size > Math.max(this.capacity, 1)) this.map.delete(this.map.keys().next().value!);
    return entry.value;
  }

  clear(): void {
    this.map.clear();
  }
}

export class EgressResolveError extends Error {}

export class EgressResolver {
  private readonly sources: TtlCache<EgressSource>;
  private readonly pools: TtlCache<EgressPool>;
  private readonly suspendedUntil = new Map<string, number>();
  private readonly failureThrottles: Throttles;

  constructor(private readonly clock: Clock, private readonly definitions: EgressDefinitions) {
    this.failureThrottles = new Throttles(clock);
    this.sources = new TtlCache(clock, DEFAULT_EGRESS_CACHE_CAPACITY);
    this.pools = new TtlCache(clock, DEFAULT_EGRESS_CACHE_CAPACITY);
  }

  /** `kumo.set_lruttl_cache_capacity('egress_source_sources' | 'egress_source_pools', n)`. */
  setCapacity(cache: 'egress_source_sources' | 'egress_source_pools', capacity: number): void {
    (cache === 'egress_source_sources' ? this.sources : this.pools).capacity = capacity;
  }

  async source(name: string): Promise<EgressSource> {
    if (name === UNSPECIFIED_SOURCE.name) return UNSPECIFIED_SOURCE;
    try {
      return await this.sources.get(name, () => this.definitions.source(name), (s) => s.ttlMs);
    } catch (err) {
      throw new EgressResolveError(`get_egress_source '${name}': ${(err as Error).message}`);
    }
  }

  /** The pool a queue config names (`null` or `'unspecified'` ⇒ the built-in one), members resolved. */
  async pool(name: string | null): Promise<EgressPool> {
    if (isBuiltInPool(name)) return UNSPECIFIED_POOL;
    try {
      const pool = await this.pools.get(name!, () => this.definitions.pool(name!), (p) => p.ttlMs);
      for (const entry of pool.entries) await this.source(entry.name);
      return pool;
    } catch (err) {
      throw new EgressResolveError(`resolving egress pool '${name}': ${(err as Error).message}`);
    }
  }

  /** Marks a source unhealthy until `untilMs` (SMTP client: unplumbed bind, proxy failure). */
  suspendSource(name: string, untilMs: number): void {
    this.suspendedUntil.set(name, Math.max(untilMs, this.suspendedUntil.get(name) ?? 0));
  }

  /**
   * The SMTP client reports a local bind failing with EADDRNOTAVAIL
   * ('unplumbed') or a proxy connect/handshake/bind failure ('proxy'). The
   * source's `suspend_when_*` rule decides: Immediate, or once the failures
   * exceed its `N/period` threshold. Returns whether the source is now suspended.
   */
  reportFailure(source: EgressSource, kind: 'unplumbed' | 'proxy'): boolean {
    const rule = kind === 'unplumbed' ? source.suspendWhenUnplumbed : source.suspendWhenProxyUnhealthy;
    if (!rule) return false;
    if (rule.trigger !== 'Immediate') {
      const over = this.failureThrottles.check(`egress-source-${kind}-${source.name}`, rule.trigger.threshold).retryAfterMs !== null;
      if (!over) return false;
    }
    this.suspendSource(source.name, this.clock.now() + rule.durationMs);
    return true;
  }

  /** Remaining health suspension of a source in ms, or null when usable. */
  sourceSuspension(name: string, nowMs = this.clock.now()): number | null {
    const until = this.suspendedUntil.get(name);
    if (until === undefined) return null;
    if (until <= nowMs) {
      this.suspendedUntil.delete(name);
      return null;
    }
    return until - nowMs;
  }

  /** Forgets every cached definition (tests; an explicit reload). */
  clear(): void {
    this.sources.clear();
    this.pools.clear();
  }
}

/** Definitions for an engine without a policy: only `unspecified` exists. */
export const NO_EGRESS_EVENTS: EgressDefinitions = {
  source: async () => {
    throw new Error('Event get_egress_source has not been registered');
  },
  pool: async () => {
    throw new Error('Event get_egress_pool has not been registered');
  },
};
