import { v4 as uuidV4 } from 'uuid';
import type { Message } from '../message/message.ts';
import type { RecordEvent, RecordResponse, RecordType } from '../records/types.ts';
import type { EngineContext } from '../queue/engine-context.ts';
import { InsertContext, type InsertReason } from '../queue/insert-context.ts';
import { ENH_4_4_1, response, suspendedEvent } from '../queue/queue-records.ts';
import type { ReadyQueue } from '../queue/ready-queue.ts';

export type DispatcherPhase = 'Starting' | 'Idle' | 'AccumulatingBatch' | 'MessageRateThrottled' | 'ConnectionRateThrottled' | 'AttemptingConnection' | 'DeliveringMessage' | 'Closing';

/**
 * What every delivery session shares whatever its protocol (engine.md
 * §4.2–4.6): holding messages popped from the ready queue with the admin
 * checks, waiting for more up to idle_timeout, suspension drains, message
 * rate throttles, the bulk delay, and returning what it still holds.
 * custom_lua (Dispatcher) and SMTP (SmtpSession) add the connection part.
 */
export abstract class SessionBase {
  readonly sessionId = uuidV4();
  phase: DispatcherPhase = 'Starting';
  lastActivity: number;
  protected held: Message[] = [];
  /** The batch being sent; the engine saves it if shutdown gives up waiting. */
  inFlight: readonly Message[] = [];
  private batchStarted: number | null = null;

  constructor(protected readonly rq: ReadyQueue, protected readonly engine: EngineContext) {
    this.lastActivity = engine.clock.now();
  }

  /** Runs the session; resolves true when it ended holding nothing. */
  abstract run(): Promise<boolean>;

  /** Batch accumulation limits: [batchSize, minBatchSize, maxBatchLatencyMs]. */
  protected abstract batchLimits(): [number, number, number];

  /** True when the open connection may take no more messages (max_deliveries_per_connection). */
  protected abstract connectionFull(): boolean;

  /** The `service` label's protocol part for metrics (`lua`, `smtp_client`). */
  protected abstract readonly metricsProtocol: string;

  protected setPhase(phase: DispatcherPhase): void {
    this.phase = phase;
    this.lastActivity = this.engine.clock.now();
  }

  /** A record without a connection: bulk and synthesized outcomes (smtp-delivery.md §4.7). */
  protected bulkRecord(type: RecordType, msg: Message, r: RecordResponse): RecordEvent {
    const ev: RecordEvent = {
      type, message: msg, response: r, site: this.rq.name, peerAddress: null,
      egressPool: this.rq.egressPool, egressSource: this.rq.egressSource, deliveryProtocol: null, sessionId: this.sessionId,
    };
    if (this.rq.pathConfig.providerName !== null) ev.providerName = this.rq.pathConfig.providerName;
    return ev;
  }

  /** Messages still held when the session ends go back (engine.md §4.7). */
  protected async returnHeld(): Promise<boolean> {
    const held = this.held;
    this.held = [];
    if (held.length === 0) return true;
    const e = this.engine;
    for (const msg of held) {
      if (e.isShuttingDown()) await e.saveAndDrop(msg);
      else await e.requeue(msg, { increment: false, delayMs: null, context: new InsertContext(['DispatcherDrop']), response: response(451, ENH_4_4_1, 'KumoMTA internal: returning message to scheduled queue') });
    }
    return false;
  }

  /** Non-blocking pop into the held batch; true when the batch is satisfied. */
  protected async obtainMessages(): Promise<boolean> {
    const e = this.engine;
    const [batchSize, minBatchSize] = this.batchLimits();
    if (e.spoolUnhealthyReason() !== null) return false;
    if (this.held.length >= minBatchSize) {
      this.batchStarted = null;
      return true;
    }
    while (this.held.length < batchSize) {
      const msg = this.rq.popFront();
      if (!msg) break;
      let queueName: string | null = null;
      try {
        queueName = msg.queueName();
      } catch {
        // keep it without the admin checks
      }
      if (queueName !== null) {
        const now = e.clock.now();
        const bounce = e.rules.matchBounce(queueName, now);
        if (bounce) {
          await e.adminBounce(msg, bounce, queueName);
          continue;
        }
        const suspend = e.rules.matchSuspend(queueName, now);
        if (suspend) {
          const ev = suspendedEvent(msg, suspend.reason, this.rq.name, this.sessionId);
          await e.log(ev);
          await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: ev.response });
          continue;
        }
      }
      this.held.push(msg);
    }
    if (this.held.length >= minBatchSize) {
      this.batchStarted = null;
      return true;
    }
    return false;
  }

  /** engine.md §4.3 wait_for_message. */
  protected async waitForMessages(): Promise<boolean> {
    const e = this.engine;
    const path = this.rq.pathConfig;
    if (e.isShuttingDown()) return false;
    if (this.connectionFull()) return false;
    if (this.rq.isSuspended()) return this.drainSuspended();
    if (await this.obtainMessages()) return true;
    let deadline = e.clock.now() + path.timeouts.idleTimeoutMs;
    if (this.held.length > 0) {
      this.batchStarted ??= e.clock.now();
      deadline = Math.min(deadline, this.batchStarted + this.batchLimits()[2]);
      this.setPhase('AccumulatingBatch');
    } else {
      this.setPhase('Idle');
    }
    for (;;) {
      if (deadline <= e.clock.now()) {
        this.batchStarted = null;
        return this.held.length > 0;
      }
      const ev = await this.rq.waitForNotify(deadline);
      if (ev === 'deadline') {
        this.batchStarted = null;
        return this.held.length > 0;
      }
      if (ev === 'shutdown' || e.isShuttingDown()) return false;
      if (this.rq.isSuspended()) return this.drainSuspended();
      if (await this.obtainMessages()) return true;
    }
  }

  private async drainSuspended(): Promise<false> {
    const held = this.held;
    this.held = [];
    await this.rq.drainToScheduled('ReadyQueueWasSuspended', held);
    return false;
  }

  /** Requeues the held messages and the whole FIFO without an attempt increment (throttles). */
  protected async requeueAllThrottled(delayMs: number, reason: InsertReason): Promise<void> {
    const e = this.engine;
    const r = response(451, ENH_4_4_1, 'KumoMTA internal: ready queue throttled');
    const all = [...this.held, ...this.rq.takeAll()];
    this.held = [];
    for (const msg of all) await e.requeue(msg, { increment: false, delayMs, context: new InsertContext([reason]), response: r });
  }

  /** engine.md §4.6: everything in the ready queue takes a TransientFailure and backs off. */
  protected async bulkDelay(): Promise<void> {
    const e = this.engine;
    const r = response(451, ENH_4_4_1, 'bulk delay of ready queue: too many successive connection failures where there was no answer from any hosts listed in MX');
    for (const msg of this.rq.takeAll()) {
      await e.log(this.bulkRecord('TransientFailure', msg, r));
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['TooManyConnectionFailures', 'LoggedTransientFailure']), response: r });
    }
  }

  /**
   * Waits out throttle `key`s (slowest first) while the wait is below
   * idle_timeout; a longer wait requeues the held messages and the FIFO.
   * False when the session must give up (requeued or shutdown).
   */
  protected async waitForThrottles(throttles: [string, import('../queue/throttle.ts').ThrottleSpec][], phase: 'MessageRateThrottled' | 'ConnectionRateThrottled', reason: InsertReason): Promise<boolean> {
    const e = this.engine;
    const path = this.rq.pathConfig;
    const sorted = [...throttles].sort((a, b) => a[1].limit / a[1].periodMs - b[1].limit / b[1].periodMs);
    const before = this.phase;
    for (const [key, spec] of sorted) {
      for (let guard = 0; guard < 1000; guard++) {
        const { retryAfterMs } = e.throttles.check(key, spec);
        if (retryAfterMs === null) break;
        if (retryAfterMs >= path.timeouts.idleTimeoutMs) {
          await this.requeueAllThrottled(retryAfterMs, reason);
          return false;
        }
        this.setPhase(phase);
        try {
          await e.clock.sleep(retryAfterMs, e.shutdownSignal);
        } catch {
          return false;
        }
        this.setPhase(before);
      }
    }
    return true;
  }

  /** Path message-rate throttles (engine.md §4.4, smtp-delivery.md §5.1). */
  protected applyMessageRateThrottles(): Promise<boolean> {
    const path = this.rq.pathConfig;
    return this.waitForThrottles([
      ...(path.maxMessageRate ? [[`kumomta.max_message_rate.${this.rq.name}`, path.maxMessageRate] as [string, typeof path.maxMessageRate]] : []),
      ...Object.entries(path.additionalMessageRateThrottles),
    ], 'MessageRateThrottled', 'MessageRateThrottle');
  }
}
