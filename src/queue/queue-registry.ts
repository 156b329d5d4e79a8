import type { QueueConfig } from './queue-config.ts';
import { nullQueueConfig } from './queue-config.ts';
import { parseQueueName } from '../message/queue-name.ts';
import { ScheduledQueue, type QueueEngine } from './scheduled-queue.ts';

export type QueueConfigResolver = (domain: string, tenant: string | null, campaign: string | null, routingDomain: string | null) => Promise<QueueConfig>;

type Slot =
  | { kind: 'ready'; queue: ScheduledQueue }
  | { kind: 'resolving'; promise: Promise<ScheduledQueue> }
  | { kind: 'failed'; error: Error; until: number };

const NEGATIVE_CACHE_MS = 60_000;
const INTERNAL_NAMES = ['generator.kumomta.internal', 'deferred_smtp_inject.kumomta.internal'];

export class QueueResolveError extends Error {}

/**
 * Scheduled queues by name: created on first use through get_queue_config
 * (single-flight), failures cached for 60 s, configs refreshed per
 * refresh_strategy, idle empty queues reaped (engine.md §1.5, §2.3).
 */
export class ScheduledQueueRegistry {
  private slots = new Map<string, Slot>();

  constructor(private readonly engine: QueueEngine, private readonly resolver: QueueConfigResolver) {}

  /** Number of map entries, including resolving and failed slots (scheduled_queue_count). */
  get slotCount(): number {
    return this.slots.size;
  }

  queues(): ScheduledQueue[] {
    const out: ScheduledQueue[] = [];
    for (const s of this.slots.values()) if (s.kind === 'ready') out.push(s.queue);
    return out;
  }

  get(name: string): ScheduledQueue | undefined {
    const s = this.slots.get(name);
    return s?.kind === 'ready' ? s.queue : undefined;
  }

  async resolve(name: string): Promise<ScheduledQueue> {
    const slot = this.slots.get(name);
    if (slot?.kind === 'ready') return slot.queue;
    if (slot?.kind === 'resolving') return slot.promise;
    if (slot?.kind === 'failed') {
      if (this.engine.clock.now() < slot.until) throw slot.error;
      this.slots.delete(name);
    }
    const promise = this.create(name).then(
      (queue) => {
        this.slots.set(name, { kind: 'ready', queue });
        return queue;
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.slots.set(name, { kind: 'failed', error, until: this.engine.clock.now() + NEGATIVE_CACHE_MS });
        throw error;
      },
    );
    this.slots.set(name, { kind: 'resolving', promise });
    return promise;
  }

  /** A pool that cannot be resolved makes the queue unresolvable (lua-api-more.md §1.3). */
  private async create(name: string): Promise<ScheduledQueue> {
    const config = await this.configFor(name);
    const pool = await this.engine.egress.pool(config.egressPool);
    const queue = new ScheduledQueue(name, config, this.engine);
    queue.setPool(pool);
    return queue;
  }

  async configFor(name: string): Promise<QueueConfig> {
    if (name === 'null') return nullQueueConfig();
    if (INTERNAL_NAMES.includes(name)) throw new QueueResolveError(`queue ${name} is internal to KumoMTA and not supported by kumo-lua`);
    const c = parseQueueName(name);
    return this.resolver(c.domain, c.tenant, c.campaign, c.routingDomain);
  }

  /** The 10 s refresh pass: re-resolves configs whose TTL passed or whose epoch changed. */
  async refresh(epoch: number): Promise<void> {
    const now = this.engine.clock.now();
    for (const q of this.queues()) {
      q.configEpoch ??= epoch; // created under the current epoch
      const due = q.config.refreshStrategy === 'Epoch' ? q.configEpoch !== epoch : now >= q.lastRefresh + q.config.refreshIntervalMs;
      if (!due) continue;
      try {
        const strategy = q.config.strategy;
        q.config = { ...(await this.configFor(q.name)), strategy };
      } catch (err) {
        this.engine.diag(`refreshing queue config of ${q.name} failed, keeping the previous one: ${(err as Error).message}`);
      }
      try {
        q.setPool(await this.engine.egress.pool(q.config.egressPool));
      } catch (err) {
        this.engine.diag(`refreshing the egress pool of ${q.name} failed, keeping the previous selector: ${(err as Error).message}`);
      }
      q.lastRefresh = this.engine.clock.now();
      q.configEpoch = epoch;
    }
  }

  /** Drops empty queues idle for reap_interval, and expired negative-cache slots. */
  reap(): ScheduledQueue[] {
    const now = this.engine.clock.now();
    const reaped: ScheduledQueue[] = [];
    for (const [name, slot] of this.slots) {
      if (slot.kind === 'failed' && now >= slot.until) this.slots.delete(name);
      if (slot.kind === 'ready' && slot.queue.scheduledCount === 0 && now - slot.queue.lastChange >= slot.queue.config.reapIntervalMs) {
        this.slots.delete(name);
        reaped.push(slot.queue);
      }
    }
    return reaped;
  }
}
