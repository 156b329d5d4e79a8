/**
 * The cache behind kumo.memoize: TTL on the context clock, LRU eviction at
 * `capacity`, and one populator per key while other callers wait.
 */
import type { Clock } from '../../util/clock.ts';

export interface MemoOptions {
  name: string;
  ttlMs: number;
  capacity: number;
  populateTimeoutMs?: number;
  retryOnPopulateTimeout: boolean;
  allowStaleReads: boolean;
}

interface Entry<V> {
  expiresAt: number;
  value: V;
}

export type Lookup<V> = { status: 'hit'; value: V } | { status: 'miss' } | { status: 'wait' };

export class MemoCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, { done: Promise<void>; resolve: () => void }>();

  constructor(
    readonly options: MemoOptions,
    private readonly clock: Clock,
    /** Called when a value leaves the cache (to release Lua references). */
    private readonly release: (value: V) => void = () => undefined,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string): Lookup<V> {
    const entry = this.entries.get(key);
    const now = this.clock.now();
    if (entry && entry.expiresAt > now) {
      // Refresh the LRU position.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return { status: 'hit', value: entry.value };
    }
    if (this.inflight.has(key)) {
      if (entry && this.options.allowStaleReads) return { status: 'hit', value: entry.value };
      return { status: 'wait' };
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.inflight.set(key, { done, resolve });
    return { status: 'miss' };
  }

  store(key: string, value: V): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.release(previous.value);
    }
    this.entries.set(key, { expiresAt: this.clock.now() + this.options.ttlMs, value });
    while (this.entries.size > this.options.capacity) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry<V>];
      this.entries.delete(oldestKey);
      this.release(oldest.value);
    }
    this.finish(key);
  }

  /** Drops every stored value (a config epoch bump with invalidate_with_epoch). */
  clear(): void {
    for (const entry of this.entries.values()) this.release(entry.value);
    this.entries.clear();
  }

  /** The populator failed: let waiters try again themselves. */
  abandon(key: string): void {
    this.finish(key);
  }

  private finish(key: string): void {
    const f = this.inflight.get(key);
    this.inflight.delete(key);
    f?.resolve();
  }

  /** Waits for the in-flight populate of `key`; false when populate_timeout expired first. */
  async wait(key: string): Promise<boolean> {
    const f = this.inflight.get(key);
    if (!f) return true;
    const timeout = this.options.populateTimeoutMs;
    if (timeout === undefined) {
      await f.done;
      return true;
    }
    const abort = new AbortController();
    const timedOut = this.clock.sleep(timeout, abort.signal).then(
      () => false,
      () => true,
    );
    const result = await Promise.race([f.done.then(() => true), timedOut]);
    abort.abort();
    return result;
  }
}
