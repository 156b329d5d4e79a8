import type { Message } from '../message/message.ts';
import { parseQueueName, type QueueNameComponents } from '../message/queue-name.ts';
import type { RecordResponse } from '../records/types.ts';
import type { EngineContext } from './engine-context.ts';
import { InsertContext } from './insert-context.ts';
import { ParkedEntry, type DueScheduler } from './due-scheduler.ts';
import { shrinkPolicyFor, type QueueConfig } from './queue-config.ts';
import { adminBounceEvent, delayedEvent, ENH_4_4_4, expirationEvent, response, suspendedEvent } from './queue-records.ts';
import { incrementAttemptsAndDecide, requeueWithoutIncrement } from './retry.ts';
import type { BounceRule } from './admin-rules.ts';
import { UNSPECIFIED_POOL, type EgressPool } from '../egress/pool.ts';
import { WeightedRoundRobin } from '../egress/selector.ts';

/** Result of handing a message to the protocol stage (engine.md §1.6 step 7). */
export type ReadyInsertResult =
  | { kind: 'ok' }
  | { kind: 'full' }
  | { kind: 'failed'; response: RecordResponse; logged: boolean };

/** The engine services a scheduled queue needs beyond the shared context. */
export interface QueueEngine extends EngineContext {
  readonly scheduler: DueScheduler<ScheduledQueue>;
  insertIntoReadyQueue(queue: ScheduledQueue, msg: Message): Promise<ReadyInsertResult>;
  deliverMaildir(queue: ScheduledQueue, msg: Message): Promise<void>;
}

/**
 * One scheduled queue: the messages of one queue name waiting for their due
 * time, plus the per-name config. Parked entries live in the engine-wide
 * DueScheduler; this class keeps the membership for listing and sweeps.
 */
export class ScheduledQueue {
  readonly components: QueueNameComponents;
  readonly parked = new Set<ParkedEntry<ScheduledQueue>>();
  lastChange: number;
  lastRefresh: number;
  /** The config epoch its config was resolved under; null until the first maintenance pass records it. */
  configEpoch: number | null = null;
  /** Source selection state over the resolved egress pool (lua-api-more.md §1.4). */
  selector = new WeightedRoundRobin(UNSPECIFIED_POOL);

  constructor(readonly name: string, public config: QueueConfig, private readonly engine: QueueEngine) {
    this.components = parseQueueName(name);
    this.lastChange = engine.clock.now();
    this.lastRefresh = this.lastChange;
  }

  /** Adopts a (re)resolved pool; the selector restarts only when the pool changed. */
  setPool(pool: EgressPool): void {
    if (this.selector.differsFrom(pool)) this.selector = new WeightedRoundRobin(pool);
  }

  get scheduledCount(): number {
    return this.parked.size;
  }

  /** engine.md §1.6 `insert`. `forcePark` skips the "already due" shortcut (ready-queue-full path). */
  async insert(msg: Message, ctx: InsertContext, forcePark = false): Promise<void> {
    const now = this.engine.clock.now();
    this.lastChange = now;
    const bounce = this.engine.rules.matchBounce(this.name, now);
    if (bounce) return this.adminBounce(msg, bounce);
    if (this.engine.isShuttingDown()) return this.engine.saveAndDrop(msg);
    if (!forcePark && (msg.due === null || msg.due <= now)) return this.insertReady(msg, ctx);
    return this.park(msg, ctx);
  }

  async adminBounce(msg: Message, rule: BounceRule): Promise<void> {
    rule.bounced.set(this.name, (rule.bounced.get(this.name) ?? 0) + 1);
    rule.totalBounced++;
    this.engine.metrics.failedByQueue.inc(this.name);
    if (!rule.suppressLogging) await this.engine.log(adminBounceEvent(msg, rule.reason));
    await this.engine.remove(msg);
  }

  private async park(msg: Message, ctx: InsertContext): Promise<void> {
    const now = this.engine.clock.now();
    const due = msg.due ?? now;
    if (!ctx.isOnly('Enumerated') && !ctx.has('LoggedTransientFailure')) {
      if (ctx.isOnly('Received') && msg.scheduling !== null) ctx.add('ScheduledForLater');
      await this.engine.log(delayedEvent(msg, ctx, now));
    }
    try {
      await this.engine.spool.save(msg);
    } catch (err) {
      this.engine.diag(`failed to save ${msg.id} while parking it in ${this.name}: ${(err as Error).message}`);
    }
    this.addParked(msg, due, now);
  }

  /** Registers a parked message in the time store, releasing memory per shrink_policy. */
  addParked(msg: Message | null, due: number, now: number, id?: string, attempts?: number, enumerated = false): void {
    let keep = msg;
    if (msg) {
      const policy = shrinkPolicyFor(this.config, due - now);
      if (policy === 'ShrinkDataAndMeta' && msg.shrink()) keep = null;
      else if (policy === 'ShrinkData') msg.shrinkData();
    }
    const entry = new ParkedEntry<ScheduledQueue>(due, this.engine.scheduler.nextSeq(), id ?? msg!.id, attempts ?? msg!.numAttempts, this, keep, enumerated);
    this.parked.add(entry);
    this.engine.scheduler.add(entry);
  }

  /** Takes a parked entry out and returns its Message (reloaded from the spool if it was dropped). */
  unpark(entry: ParkedEntry<ScheduledQueue>): Message | null {
    this.parked.delete(entry);
    this.engine.scheduler.remove(entry);
    const msg = entry.msg ?? this.engine.spool.load(entry.id);
    if (msg) {
      msg.due = entry.due;
      msg.numAttempts = entry.attempts;
    }
    return msg;
  }

  /** The due time was reached (engine.md §1.11). */
  async promote(entry: ParkedEntry<ScheduledQueue>): Promise<void> {
    this.parked.delete(entry);
    const msg = entry.msg ?? this.engine.spool.load(entry.id);
    if (!msg) return; // removed from the spool meanwhile
    msg.numAttempts = entry.attempts;
    const ctx = new InsertContext([entry.enumerated ? 'Enumerated' : 'DueTimeWasReached']);
    await this.insertReady(msg, ctx);
  }

  /** engine.md §1.6 `insertReady`: the checks in order, then the protocol stage. */
  async insertReady(msg: Message, ctx: InsertContext): Promise<void> {
    const e = this.engine;
    const now = e.clock.now();
    const unhealthy = e.spoolUnhealthyReason();
    if (unhealthy !== null) {
      const r = response(451, ENH_4_4_4, `KumoMTA internal: delivery suspended: spool unhealthy: ${unhealthy}`);
      await e.log({ type: 'Delayed', message: msg, response: r, site: this.name });
      return e.requeue(msg, { increment: true, delayMs: null, context: ctx.with('SpoolUnhealthy'), response: r });
    }
    const bounce = e.rules.matchBounce(this.name, now);
    if (bounce) return this.adminBounce(msg, bounce);
    const suspend = e.rules.matchSuspend(this.name, now);
    if (suspend) {
      const ev = suspendedEvent(msg, suspend.reason, this.name);
      await e.log(ev);
      return e.requeue(msg, { increment: true, delayMs: null, context: ctx.with('LoggedTransientFailure'), response: ev.response });
    }
    if (this.config.maxMessageRate) {
      const t = e.throttles.check(`schedq-${this.name}-message-rate`, this.config.maxMessageRate);
      if (t.retryAfterMs !== null) {
        e.metrics.delayedDueToMessageRateThrottle.inc(this.name);
        return e.requeue(msg, { increment: false, delayMs: t.retryAfterMs, context: ctx.with('MessageRateThrottle'), response: response(451, ENH_4_4_4, 'KumoMTA internal: scheduled queue message rate throttled') });
      }
    }
    if (e.hooks.throttleInsertReadyQueue) {
      const dueBefore = msg.due;
      try {
        await e.hooks.throttleInsertReadyQueue(msg);
      } catch (err) {
        if (ctx.isOnly('Received')) throw err;
        // KumoMTA drops the message from memory here; kumo-lua retries it instead (engine.md §1.8).
        const r = response(451, ENH_4_4_4, `KumoMTA internal: throttle_insert_ready_queue failed: ${(err as Error).message}`);
        await e.log({ type: 'TransientFailure', message: msg, response: r, site: this.name });
        return e.requeue(msg, { increment: true, delayMs: null, context: ctx.with('LoggedTransientFailure'), response: r });
      }
      if (msg.due !== null && msg.due > e.clock.now() && msg.due !== dueBefore) {
        e.metrics.delayedDueToThrottleInsertReady.inc(this.name);
        return e.requeue(msg, { increment: false, delayMs: null, context: ctx.with('ThrottledByThrottleInsertReadyQueue'), response: response(451, ENH_4_4_4, 'KumoMTA internal: delayed by throttle_insert_ready_queue') });
      }
    }
    return this.dispatchToProtocol(msg, ctx);
  }

  private async dispatchToProtocol(msg: Message, ctx: InsertContext): Promise<void> {
    const e = this.engine;
    const protocol = this.config.protocol;
    if (protocol.kind === 'null') return e.remove(msg);
    if (protocol.kind === 'maildir') return e.deliverMaildir(this, msg);
    const result = await e.insertIntoReadyQueue(this, msg);
    if (result.kind === 'ok') return;
    if (result.kind === 'full') {
      e.metrics.delayedDueToReadyQueueFull.inc(this.name);
      msg.due = e.clock.now() + Math.floor(e.random() * 60) * 1000;
      return this.insert(msg, ctx.with('ReadyQueueWasFull'), true);
    }
    let next = ctx.with('FailedToInsertIntoReadyQueue');
    if (result.logged) next = next.with('LoggedTransientFailure');
    return e.requeue(msg, { increment: true, delayMs: null, context: next, response: result.response });
  }

  /** §3.2 / §3.3 after the requeue_message event has run. */
  async requeueInternal(msg: Message, increment: boolean, delayMs: number | null, ctx: InsertContext): Promise<void> {
    const e = this.engine;
    const now = e.clock.now();
    const decision = increment
      ? incrementAttemptsAndDecide(msg, this.config, now, e.random)
      : requeueWithoutIncrement(msg, this.config, now, delayMs, e.random);
    if (decision.kind === 'expire') {
      const site = increment ? '' : 'localhost';
      e.metrics.failedByQueue.inc(this.name);
      await e.log(expirationEvent(msg, decision.text, site, this.config.egressPool, this.config.providerName));
      return e.remove(msg);
    }
    msg.due = decision.dueMs;
    return this.insert(msg, ctx);
  }

  /** Removes and returns every parked entry (admin bounce sweep, shutdown). */
  takeAllParked(): ParkedEntry<ScheduledQueue>[] {
    const all = [...this.parked];
    for (const entry of all) this.engine.scheduler.remove(entry);
    this.parked.clear();
    return all;
  }
}
