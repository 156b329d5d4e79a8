import type { Message } from '../message/message.ts';
import type { TimerHandle } from '../util/clock.ts';
import { createSession } from '../delivery/sessions.ts';
import type { SessionBase } from '../delivery/session-base.ts';
import type { SmtpRoute } from '../delivery/smtp/mx-plan.ts';
import type { SmtpProtocol } from '../delivery/smtp/mx-list.ts';
import type { EngineContext } from './engine-context.ts';
import type { EgressPathConfig } from './egress-path-config.ts';
import { Deque } from './deque.ts';
import { InsertContext, type InsertReason } from './insert-context.ts';
import type { CustomLuaProtocol, QueueProtocol } from './queue-config.ts';
import type { ScheduledQueue } from './scheduled-queue.ts';
import { protocolSuffix } from './site-resolver.ts';
import { UNSPECIFIED_SOURCE, type EgressSource } from '../egress/source.ts';

export type WakeReason = 'notify' | 'shutdown';

/** An SMTP ready queue keeps the protocol and route of the scheduled queue that created it (smtp-delivery.md §1.7). */
export interface SmtpReadyProtocol extends SmtpProtocol {
  route: SmtpRoute;
}

export type ReadyProtocol = CustomLuaProtocol | SmtpReadyProtocol;

/** `<source>-><site>@lua:<constructor>` (engine.md §1.9) or `<source>-><site>@smtp_client` (smtp-delivery.md §1.7). */
export function readyQueueName(source: string, site: string, protocol: QueueProtocol): string {
  return `${source}->${site}@${protocolSuffix(protocol)}`;
}

/** ready_queue.rs ideal_connection_count, in f32 like the original. */
export function idealConnectionCount(readyCount: number, limit: number): number {
  if (readyCount <= 0) return 0;
  const goal = Math.fround(limit * Math.fround(1 - Math.fround(Math.exp(Math.fround(-0.023 * readyCount)))));
  return Math.min(Math.ceil(goal), readyCount);
}

export interface ConnectionLimitedState {
  context: string;
  since: number;
}

/**
 * A ready queue: the FIFO of messages due now for one egress source, site
 * and constructor, bounded by max_ready, plus the dispatchers that drain it.
 * `maintain` plays KumoMTA's maintainer: it keeps the dispatcher count at
 * idealConnectionCount within the connection-limit leases.
 */
export class ReadyQueue {
  readonly service: string;
  readonly feeders = new Set<ScheduledQueue>();
  readonly dispatchers = new Set<SessionBase>();
  consecutiveConnFailures = 0;
  connectionLimited: ConnectionLimitedState | null = null;
  /** The egress source definition (bind address, EHLO, proxy) this queue delivers from; refreshed with the path config. */
  source: EgressSource = UNSPECIFIED_SOURCE;
  lastNotify: number;
  lastPathRefresh: number;
  private fifo = new Deque<Message>();
  private reserved = 0;
  private waiters = new Set<(reason: WakeReason) => void>();
  private retryTimer: TimerHandle | null = null;
  private runs = new Map<SessionBase, Promise<void>>();

  constructor(
    readonly name: string,
    readonly siteName: string,
    readonly egressSource: string,
    readonly egressPool: string,
    readonly protocol: ReadyProtocol,
    public pathConfig: EgressPathConfig,
    private readonly engine: EngineContext,
    private readonly onDrainToScheduled: (msg: Message, ctx: InsertContext) => Promise<void>,
  ) {
    this.service = `${protocol.kind === 'smtp' ? 'smtp_client' : 'lua'}:${name}`;
    this.lastNotify = engine.clock.now();
    this.lastPathRefresh = this.lastNotify;
  }

  get readyCount(): number {
    return this.fifo.length + this.reserved;
  }

  get queuedCount(): number {
    return this.fifo.length;
  }

  /** Reserves a FIFO slot; false (and ready_full++) when max_ready is reached. */
  tryReserve(): boolean {
    if (this.readyCount + 1 > this.pathConfig.maxReady) {
      this.engine.metrics.readyFull.inc(this.service);
      this.notify();
      return false;
    }
    this.reserved++;
    return true;
  }

  cancelReservation(): void {
    this.reserved--;
  }

  redeem(msg: Message): void {
    this.reserved--;
    this.fifo.push(msg);
    this.notify();
  }

  popFront(): Message | undefined {
    return this.fifo.shift();
  }

  /** A representative feeding scheduled queue name: the constructor's arguments come from it. */
  representativeQueueName(): string {
    for (const q of this.feeders) return q.name;
    return this.siteName;
  }

  /** Admin-suspended, or its egress source is health-suspended (its messages go back to be re-routed). */
  isSuspended(): boolean {
    const now = this.engine.clock.now();
    return this.engine.rules.readyQueueSuspension(this.name, now) !== null || this.engine.egress.sourceSuspension(this.egressSource, now) !== null;
  }

  /** Insert notification: wake dispatchers (all, or one when Relaxed) and the maintainer. */
  notify(): void {
    this.lastNotify = this.engine.clock.now();
    if (this.pathConfig.dispatcherWakeupStrategy === 'Relaxed') {
      const first = this.waiters.values().next();
      if (!first.done) first.value('notify');
    } else {
      for (const w of [...this.waiters]) w('notify');
    }
    this.maintain();
  }

  wakeAll(reason: WakeReason): void {
    for (const w of [...this.waiters]) w(reason);
  }

  /** Waits for an insert notification, shutdown, or the absolute `deadline`. */
  waitForNotify(deadline: number): Promise<WakeReason | 'deadline'> {
    return new Promise((resolve) => {
      const waiter = (reason: WakeReason) => {
        timer.cancel();
        this.waiters.delete(waiter);
        resolve(reason);
      };
      const timer = this.engine.clock.setTimer(deadline - this.engine.clock.now(), () => {
        this.waiters.delete(waiter);
        resolve('deadline');
      });
      this.waiters.add(waiter);
    });
  }

  /** Sends every FIFO message back through its scheduled queue's insert. */
  async drainToScheduled(reason: InsertReason, extra: Message[] = []): Promise<void> {
    const all = [...extra, ...this.fifo.drain()];
    for (const msg of all) await this.onDrainToScheduled(msg, new InsertContext([reason]));
  }

  /** Removes `n` messages from the FIFO tail (max_ready reduced by a refresh). */
  evictFromTail(n: number): Message[] {
    const out: Message[] = [];
    for (let i = 0; i < n; i++) {
      const m = this.fifo.pop();
      if (!m) break;
      out.push(m);
    }
    return out;
  }

  takeAll(): Message[] {
    return this.fifo.drain();
  }

  /** engine.md §1.10: prune, drain when suspended/shutting down, spawn up to the ideal count. */
  maintain(): void {
    const e = this.engine;
    e.metrics.totalReadyqRuns++;
    if (e.isShuttingDown()) {
      for (const m of this.fifo.drain()) void e.saveAndDrop(m);
      return;
    }
    if (this.isSuspended()) {
      void this.drainToScheduled('ReadyQueueWasSuspended');
      return;
    }
    const ideal = idealConnectionCount(this.readyCount, this.pathConfig.connectionLimit.limit);
    while (this.dispatchers.size < ideal) {
      const leases = this.acquireLeases();
      if (!leases) return;
      this.spawn(leases);
    }
  }

  private acquireLeases(): string[] | null {
    const e = this.engine;
    const limits: [string, number][] = [
      [`kumomta.connection_limit.${this.name}`, this.pathConfig.connectionLimit.limit] as [string, number],
      ...Object.entries(this.pathConfig.additionalConnectionLimits).map(([k, v]) => [k, v.limit] as [string, number]),
    ].sort((a, b) => a[1] - b[1]);
    const acquired: string[] = [];
    for (const [label, limit] of limits) {
      if (!e.leases.tryAcquire(label, limit)) {
        for (const l of acquired) e.leases.release(l);
        this.connectionLimited ??= { context: `TooManyLeases for ${label}`, since: e.clock.now() };
        // Shared limits are freed by other queues' dispatchers: look again in a minute.
        this.retryTimer ??= e.clock.setTimer(60_000, () => {
          this.retryTimer = null;
          this.maintain();
        });
        return null;
      }
      acquired.push(label);
    }
    this.connectionLimited = null;
    return acquired;
  }

  private spawn(leases: string[]): void {
    const d = createSession(this, this.engine);
    this.dispatchers.add(d);
    const run = d.run().then((exitedEmpty) => {
      for (const l of leases) this.engine.leases.release(l);
      this.dispatchers.delete(d);
      this.runs.delete(d);
      if (this.engine.isShuttingDown()) return;
      this.maintain();
      if (exitedEmpty) this.engine.clock.setTimer(1000, () => this.maintain());
    });
    this.runs.set(d, run);
  }

  /** Resolves when every dispatcher running now has ended. */
  async whenDispatchersDone(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()]);
  }

  /** Reaping rule (engine.md §1.9). */
  isReapable(nowMs: number): boolean {
    return this.readyCount === 0 && this.dispatchers.size === 0 && (this.engine.isShuttingDown() || nowMs - this.lastNotify >= 600_000);
  }

  stopTimers(): void {
    this.retryTimer?.cancel();
    this.retryTimer = null;
  }
}
