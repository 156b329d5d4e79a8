import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Message } from '../message/message.ts';
import type { RecordEvent, RecordSink } from '../records/types.ts';
import type { SqliteSpool } from '../spool/sqlite-spool.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { deliverToMaildir, renderWithMinijinja } from '../delivery/maildir.ts';
import { BackgroundTasks } from '../delivery/background-tasks.ts';
import type { ConnectionFactory } from '../delivery/types.ts';
import type { SmtpServices } from '../delivery/smtp/ports.ts';
import { smtpServices } from '../delivery/smtp/services.ts';
import { AdminRules, type BounceRule } from './admin-rules.ts';
import { DueScheduler, type ParkedEntry } from './due-scheduler.ts';
import { shutdownTimeoutMs } from './egress-path-config.ts';
import type { EngineContext, EngineHooks, RequeueRequest } from './engine-context.ts';
import { InsertContext } from './insert-context.ts';
import { LeaseRegistry } from './leases.ts';
import { EngineMetrics } from './metrics.ts';
import { adminBounceEvent, response, responseLine } from './queue-records.ts';
import { QueueAdmin } from './queue-admin.ts';
import { ScheduledQueueRegistry, type QueueConfigResolver } from './queue-registry.ts';
import { ReadyQueueRegistry, type EgressPathResolver } from './ready-registry.ts';
import type { ReadyQueue } from './ready-queue.ts';
import { enumerateSpool, type RestartSummary } from './restart.ts';
import type { QueueEngine, ReadyInsertResult, ScheduledQueue } from './scheduled-queue.ts';
import { Throttles } from './throttle.ts';
import { EgressResolver, NO_EGRESS_EVENTS } from '../egress/resolve.ts';
import type { SiteResolvers } from './site-resolver.ts';

export interface QueueManagerOptions {
  clock: Clock;
  spool: SqliteSpool;
  records: RecordSink;
  connections: ConnectionFactory;
  /** The smtp protocol's services; defaults use node:dns and no classifier. */
  smtp?: Partial<SmtpServices>;
  /** `get_queue_config`: called when a scheduled queue is created and on refresh. */
  resolveQueueConfig: QueueConfigResolver;
  /** `get_egress_path_config`: called when a ready queue is created and on refresh. */
  resolveEgressPathConfig: EgressPathResolver;
  hooks?: EngineHooks;
  /** Egress sources and pools; without one only the built-in `unspecified` pool exists. */
  egress?: EgressResolver;
  /** Site name per protocol for ready-queue keys and get_egress_path_config; default: the routing domain. */
  siteResolvers?: SiteResolvers;
  /** Source of randomness for jitter; Math.random by default. */
  random?: () => number;
  /** `kumo.suspend_delivery_when_spool_unhealthy` (default true). */
  suspendDeliveryWhenSpoolUnhealthy?: boolean;
  /** Bound on in-flight sends at shutdown; default the largest system_shutdown_timeout (20 min). */
  shutdownTimeoutMs?: number;
}

export class ShuttingDownError extends Error {}

export interface InsertOptions {
  /** Queue without saving to the spool first (saved when it parks). */
  deferredSpool?: boolean;
  /** false: a listener logs its own reception Bounce. */
  logFailure?: boolean;
  /** Remove the message again when its queue cannot be resolved (reception: the sender retries). */
  unwindOnFailure?: boolean;
  /**
   * A failed spool write does not refuse the message: it is queued in memory
   * and saved when it next parks. For messages made from already-accepted
   * mail (log hook records), which no sender could send again.
   */
  keepOnSpoolFailure?: boolean;
}

const MAINTENANCE_INTERVAL_MS = 10_000;
/** Maildir deliveries writing at once (each holds one file open while it writes and syncs). */
const MAILDIR_CONCURRENCY = 32;

/**
 * The engine facade: reception inserts here (spool, then scheduled queue),
 * scheduled queues promote to ready queues, dispatchers deliver, and the
 * admin API and metrics read from here.
 */
export class QueueManager implements QueueEngine {
  readonly clock: Clock;
  readonly spool: SqliteSpool;
  readonly random: () => number;
  readonly rules = new AdminRules();
  readonly metrics = new EngineMetrics();
  readonly throttles: Throttles;
  readonly leases = new LeaseRegistry();
  readonly connections: ConnectionFactory;
  readonly smtp: SmtpServices;
  readonly hooks: EngineHooks;
  readonly egress: EgressResolver;
  readonly scheduler: DueScheduler<ScheduledQueue>;
  readonly scheduled: ScheduledQueueRegistry;
  readonly ready: ReadyQueueRegistry;
  readonly admin: QueueAdmin;
  private readonly records: RecordSink;
  private readonly abort = new AbortController();
  private shuttingDown = false;
  private shutdownPromise: Promise<void> | null = null;
  private maintenanceTimer: TimerHandle | null = null;
  private spoolUnhealthy: string | null = null;
  private configEpoch = 0;
  private readyEpochs = new WeakMap<ReadyQueue, number>();
  /** Maildir deliveries in progress or waiting (they run beside reception). */
  readonly maildirTasks = new BackgroundTasks(MAILDIR_CONCURRENCY, (err) => this.diag(`maildir delivery failed: ${(err as Error).message}`));

  constructor(private readonly opts: QueueManagerOptions) {
    this.clock = opts.clock;
    this.spool = opts.spool;
    this.records = opts.records;
    this.connections = opts.connections;
    this.smtp = smtpServices(opts.smtp);
    this.hooks = opts.hooks ?? {};
    this.egress = opts.egress ?? new EgressResolver(opts.clock, NO_EGRESS_EVENTS);
    this.random = opts.random ?? Math.random;
    this.throttles = new Throttles(opts.clock);
    this.scheduler = new DueScheduler<ScheduledQueue>(opts.clock, (batch) => this.promoteBatch(batch));
    this.scheduled = new ScheduledQueueRegistry(this, opts.resolveQueueConfig);
    this.ready = new ReadyQueueRegistry(this, opts.resolveEgressPathConfig, (msg, ctx) => this.reinsert(msg, ctx), opts.siteResolvers);
    this.admin = new QueueAdmin(this);
    // Every connecting or throttled dispatcher listens for shutdown.
    setMaxListeners(0, this.abort.signal);
  }

  get shutdownSignal(): AbortSignal {
    return this.abort.signal;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  spoolUnhealthyReason(): string | null {
    return this.opts.suspendDeliveryWhenSpoolUnhealthy === false ? null : this.spoolUnhealthy;
  }

  // ---- reception -------------------------------------------------------

  /**
   * Accepts a received message: resolves its scheduled queue (get_queue_config),
   * makes it durable (unless deferred), then queues it. Resolves once the
   * message is safe to acknowledge. Messages for the `null` queue are dropped.
   */
  /**
   * Reception: spool (unless deferred), then the scheduled queue. When the
   * queue refuses the message it is removed again; `logFailure: false` lets a
   * listener that logs its own reception Bounce avoid a second record.
   */
  async insert(msg: Message, opts: InsertOptions = {}): Promise<void> {
    const name = msg.queueName();
    if (name === 'null') return;
    if (this.shuttingDown) {
      // engine.md §11: an insert during shutdown is saved and dropped, and comes
      // back at the next start (e.g. hook records of the last in-flight sends).
      await this.spool.save(msg);
      return;
    }
    // Saved before the queue is resolved, as KumoMTA does: if get_queue_config
    // fails, the message waits in the spool for the next start instead of being
    // lost. Reception unwinds instead (its sender gets the error and retries).
    let inMemoryOnly = opts.deferredSpool === true;
    if (!inMemoryOnly) {
      try {
        await this.spool.save(msg);
      } catch (err) {
        if (!opts.keepOnSpoolFailure) throw err;
        // Nobody can be told to send it again: keep it, dirty, like a parked
        // message whose save failed; it is saved when it next parks.
        this.diag(`${msg.id} kept in memory, not yet in the spool: ${(err as Error).message}`);
        inMemoryOnly = true;
      }
    }
    let queue: ScheduledQueue;
    try {
      queue = await this.scheduled.resolve(name);
    } catch (err) {
      if (opts.unwindOnFailure) await this.remove(msg);
      else {
        if (inMemoryOnly) await this.saveAndDrop(msg);
        this.diag(`${msg.id} stays in the spool until the next start: queue ${name} cannot be resolved: ${(err as Error).message}`);
      }
      throw err;
    }
    this.ensureMaintenance();
    try {
      await queue.insert(msg, new InsertContext(['Received']));
    } catch (err) {
      const r = response(500, null, `KumoMTA internal: QueueManager::insert failed during reception: ${(err as Error).message}`);
      if (opts.logFailure !== false) await this.log({ type: 'Bounce', message: msg, response: r, site: '' });
      await this.remove(msg);
      throw err;
    }
  }

  /** Resolves (creating if needed) the scheduled queue for a name; for pre-resolution at reception. */
  resolveQueue(name: string): Promise<ScheduledQueue> {
    return this.scheduled.resolve(name);
  }

  /** Re-queues every spooled message (call once at start-up, before new receptions). */
  async start(): Promise<RestartSummary> {
    const summary = await enumerateSpool(this);
    this.ensureMaintenance();
    return summary;
  }

  // ---- EngineContext ---------------------------------------------------

  async log(event: RecordEvent): Promise<void> {
    try {
      await this.records.log(event);
    } catch (err) {
      this.diag(`failed to log ${event.type} record: ${(err as Error).message}`);
    }
  }

  diag(text: string): void {
    if (this.hooks.diagnostic) this.hooks.diagnostic(text);
    else console.error(`kumo-lua engine: ${text}`);
  }

  async remove(msg: Message): Promise<void> {
    try {
      await this.spool.remove(msg.id);
    } catch (err) {
      this.diag(`failed to remove ${msg.id} from the spool: ${(err as Error).message}`);
    }
  }

  async saveAndDrop(msg: Message): Promise<void> {
    try {
      await this.spool.save(msg);
    } catch (err) {
      this.diag(`failed to save ${msg.id}: ${(err as Error).message}`);
    }
  }

  async adminBounce(msg: Message, rule: BounceRule, queueName: string): Promise<void> {
    rule.bounced.set(queueName, (rule.bounced.get(queueName) ?? 0) + 1);
    rule.totalBounced++;
    this.metrics.failedByQueue.inc(queueName);
    if (!rule.suppressLogging) await this.log(adminBounceEvent(msg, rule.reason));
    await this.remove(msg);
  }

  /** engine.md §3.6: requeue_message event, queue change handling, then backoff or expiry. */
  async requeue(msg: Message, req: RequeueRequest): Promise<void> {
    let before: string;
    try {
      before = msg.queueName();
    } catch (err) {
      this.diag(`cannot requeue ${msg.id}: ${(err as Error).message}; it stays in the spool`);
      return this.saveAndDrop(msg);
    }
    let { increment, delayMs } = req;
    if (this.hooks.requeueMessage) {
      try {
        const r = await this.hooks.requeueMessage(msg, responseLine(req.response), [...req.context.reasons], increment, delayMs);
        if (r && 'reject' in r) {
          await this.log({ type: 'Bounce', message: msg, response: response(r.reject.code, null, r.reject.text), site: '' });
          this.metrics.failedByQueue.inc(before);
          return this.remove(msg);
        }
      } catch (err) {
        this.diag(`requeue_message event failed for ${msg.id}: ${(err as Error).message}`);
      }
    }
    let after = before;
    try {
      after = msg.queueName();
    } catch (err) {
      this.diag(`requeue_message left ${msg.id} with a bad queue name (${(err as Error).message}); keeping ${before}`);
    }
    if (after !== before) {
      msg.numAttempts++;
      increment = false;
      delayMs = 0;
    }
    let queue: ScheduledQueue;
    try {
      queue = await this.scheduled.resolve(after);
    } catch (err) {
      this.diag(`cannot resolve queue ${after} to requeue ${msg.id}: ${(err as Error).message}; it stays in the spool`);
      return this.saveAndDrop(msg);
    }
    return queue.requeueInternal(msg, increment, delayMs, req.context);
  }

  /** Back into the scheduled queue through `insert` without attempt increment (drains). */
  private async reinsert(msg: Message, ctx: InsertContext): Promise<void> {
    try {
      const queue = await this.scheduled.resolve(msg.queueName());
      await queue.insert(msg, ctx);
    } catch (err) {
      this.diag(`cannot return ${msg.id} to its scheduled queue: ${(err as Error).message}; it stays in the spool`);
      await this.saveAndDrop(msg);
    }
  }

  insertIntoReadyQueue(queue: ScheduledQueue, msg: Message): Promise<ReadyInsertResult> {
    this.ensureMaintenance();
    return this.ready.insert(queue, msg);
  }

  /** engine.md §5: inline maildir write when the message is promoted. */
  /** Queues the Maildir delivery and returns at once; `maildirTasks.whenIdle()` waits for it. */
  deliverMaildir(queue: ScheduledQueue, msg: Message): Promise<void> {
    this.maildirTasks.add(() => this.writeMaildir(queue, msg));
    return Promise.resolve();
  }

  private async writeMaildir(queue: ScheduledQueue, msg: Message): Promise<void> {
    const protocol = queue.config.protocol;
    if (protocol.kind !== 'maildir') return;
    const sessionId = randomUUID(); // node's buffered generator: no random fill per delivery
    const render = this.hooks.renderTemplate ?? renderWithMinijinja;
    const result = await deliverToMaildir(msg, queue.name, queue.components, protocol, this.clock.now(), render);
    const common = { site: '', deliveryProtocol: 'Maildir', sessionId, peerAddress: null } as const;
    if (result.failed.length === 0) {
      const content = result.delivered.map((d) => `${d.recipient}: wrote to maildir with id=${d.id}`).join(', ');
      await this.log({ type: 'Delivery', message: msg, response: response(200, null, content), ...common });
      this.metrics.deliveredByQueue.inc(queue.name);
      return this.remove(msg);
    }
    const r = response(400, null, result.failed.map((f) => `${f.recipient}: failed to write to maildir: ${f.error}`).join(', '));
    await this.log({ type: 'TransientFailure', message: msg, response: r, ...common });
    msg.recipients = result.failed.map((f) => f.recipient);
    msg.metaDirty = true;
    return this.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: r });
  }

  private async promoteBatch(batch: ParkedEntry<ScheduledQueue>[]): Promise<void> {
    for (const entry of batch) {
      try {
        await entry.queue.promote(entry);
      } catch (err) {
        this.diag(`promoting ${entry.id} from ${entry.queue.name} failed: ${(err as Error).message}`);
      }
    }
  }

  // ---- periodic maintenance -----------------------------------------------

  /** Arms the 10 s maintenance tick while there is anything to maintain. */
  private ensureMaintenance(): void {
    if (this.maintenanceTimer || this.shuttingDown) return;
    this.maintenanceTimer = this.clock.setTimer(MAINTENANCE_INTERVAL_MS, () => void this.maintenancePass());
  }

  /** Bumps the config epoch (refresh_strategy = "Epoch" configs refresh on the next pass). */
  bumpConfigEpoch(): void {
    this.configEpoch++;
  }

  private async maintenancePass(): Promise<void> {
    this.maintenanceTimer = null;
    if (this.shuttingDown) return;
    const health = this.spool.health();
    this.spoolUnhealthy = health.healthy ? null : health.reason;
    await this.scheduled.refresh(this.configEpoch);
    for (const q of this.scheduled.reap()) for (const rq of this.ready.queues.values()) rq.feeders.delete(q);
    await this.ready.maintain(this.configEpoch, this.readyEpochs);
    const now = this.clock.now();
    this.rules.listBounces(now);
    this.rules.listSuspends(now);
    if (this.scheduled.slotCount > 0 || this.ready.queues.size > 0) this.ensureMaintenance();
  }

  // ---- shutdown (engine.md §11) --------------------------------------------

  /**
   * Stops intake and promotion, saves everything parked or queued, lets
   * in-flight sends finish (bounded), then flushes the spool. The caller
   * closes the spool afterwards.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.abort.abort(new ShuttingDownError('shutting down'));
    this.maintenanceTimer?.cancel();
    this.maintenanceTimer = null;
    const saves: Promise<void>[] = [];
    for (const entry of this.scheduler.drain()) {
      entry.queue.parked.delete(entry);
      if (entry.msg && (entry.msg.metaDirty || entry.msg.dataDirty)) saves.push(this.saveAndDrop(entry.msg));
    }
    this.scheduler.stop();
    let bound = this.opts.shutdownTimeoutMs ?? 0;
    const running: Promise<void>[] = [];
    for (const rq of this.ready.queues.values()) {
      for (const m of rq.takeAll()) saves.push(this.saveAndDrop(m));
      rq.wakeAll('shutdown');
      rq.stopTimers();
      if (this.opts.shutdownTimeoutMs === undefined) bound = Math.max(bound, shutdownTimeoutMs(rq.pathConfig));
      running.push(rq.whenDispatchersDone());
    }
    await Promise.all(saves);
    running.push(this.maildirTasks.whenIdle());
    const timeout = new AbortController();
    const finished = await Promise.race([
      Promise.all(running).then(() => true),
      this.clock.sleep(bound, timeout.signal).then(() => false, () => true),
    ]);
    timeout.abort();
    if (!finished) {
      this.diag(`shutdown: dispatchers still busy after ${bound} ms; their messages stay in the spool`);
      // Sends that never returned: write out what only memory held (deferred spool).
      const abandoned: Promise<void>[] = [];
      for (const rq of this.ready.queues.values()) {
        for (const d of rq.dispatchers) for (const msg of d.inFlight) if (msg.metaDirty || msg.dataDirty) abandoned.push(this.saveAndDrop(msg));
      }
      await Promise.all(abandoned);
    }
    await this.spool.flush();
  }
}
