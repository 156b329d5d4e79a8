/**
 * The process-wide DNS configuration (lua-api-more §4.1): the default
 * resolver (replaced by configure_resolver / configure_test_resolver, also
 * used by delivery, SPF and DKIM), named resolvers, canned MTA-STS policies
 * and the MX knobs. Configuration is process-wide in KumoMTA, so there is one
 * instance, `processDns`; tests may build their own.
 */
import { SystemClock, type Clock } from '../util/clock.ts';
import { SystemResolver } from './system-resolver.ts';
import type { MtaStsPolicy } from './mta-sts.ts';
import type { Resolver } from './types.ts';
import type { MxResolution } from './mx.ts';

export class UnknownResolverError extends Error {}

interface CachedMx {
  expiresAtMs: number;
  result: Promise<MxResolution>;
}

export class DnsService {
  private defaultResolver: Resolver;
  private readonly named = new Map<string, Resolver>();
  private testMtaSts: Map<string, MtaStsPolicy> | null = null;
  /** MX answers of the default resolver, keyed by `name|port`. */
  readonly mxCache = new Map<string, CachedMx>();
  mtaStsEnabled = true;
  mxTimeoutMs = 5_000;
  mxNegativeTtlMs = 300_000;
  mxConcurrencyLimit = 128;
  private mxInFlight = 0;
  private readonly mxWaiters: Array<() => void> = [];

  constructor(
    public clock: Clock = new SystemClock(),
    defaultResolver?: Resolver,
  ) {
    this.defaultResolver = defaultResolver ?? new SystemResolver({ nameServers: [] });
  }

  /**
   * Back to the state of a fresh process: system resolver, no named
   * resolvers or MTA-STS policies, default knobs, empty cache.
   */
  reset(clock: Clock): void {
    this.clock = clock;
    this.setDefaultResolver(new SystemResolver({ nameServers: [] }));
    this.named.clear();
    this.testMtaSts = null;
    this.mtaStsEnabled = true;
    this.mxTimeoutMs = 5_000;
    this.mxNegativeTtlMs = 300_000;
    this.mxConcurrencyLimit = 128;
  }

  /** Replaces the default resolver; cached MX answers of the old one are dropped. */
  setDefaultResolver(resolver: Resolver): void {
    this.defaultResolver = resolver;
    this.mxCache.clear();
  }

  defineResolver(name: string, resolver: Resolver): void {
    this.named.set(name, resolver);
  }

  /** The named resolver, or the default one when `name` is absent. */
  resolver(name?: string | null): Resolver {
    if (name === undefined || name === null) return this.defaultResolver;
    const found = this.named.get(name);
    if (!found) throw new UnknownResolverError(`resolver ${name} is not defined`);
    return found;
  }

  /** Once installed, every MTA-STS lookup uses these policies (absent = no policy). */
  setTestMtaSts(policies: Map<string, MtaStsPolicy>): void {
    this.testMtaSts = policies;
    this.mxCache.clear();
  }

  /**
   * The MTA-STS policy of `domain`, or null. Fetching real policies over HTTPS
   * is not implemented: without test policies this behaves as "fetch failed".
   */
  mtaStsPolicy(domain: string): MtaStsPolicy | null {
    const key = domain.toLowerCase().replace(/\.$/, '');
    return this.testMtaSts?.get(key) ?? null;
  }

  /** Runs an MX query within the concurrency limit and the MX timeout. */
  async limitMxQuery<T>(what: string, run: () => Promise<T>): Promise<T> {
    while (this.mxInFlight >= this.mxConcurrencyLimit) await new Promise<void>((resolve) => this.mxWaiters.push(resolve));
    this.mxInFlight++;
    let timer: { cancel(): void } | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = this.clock.setTimer(this.mxTimeoutMs, () => reject(new Error(`${what} timed out after ${this.mxTimeoutMs}ms`)));
      });
      return await Promise.race([run(), timeout]);
    } finally {
      timer?.cancel();
      this.mxInFlight--;
      this.mxWaiters.shift()?.();
    }
  }
}

export const processDns = new DnsService();
