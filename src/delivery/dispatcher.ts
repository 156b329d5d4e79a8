import { v4 as uuidV4 } from 'uuid';
import type { Message } from '../message/message.ts';
import { parseQueueName } from '../message/queue-name.ts';
import type { EngineContext } from '../queue/engine-context.ts';
import { InsertContext } from '../queue/insert-context.ts';
import { ENH_4_4_1, response, suspendedEvent } from '../queue/queue-records.ts';
import type { ReadyQueue } from '../queue/ready-queue.ts';
import { dispatchEvent, luaResponse, type DispatchSite } from './dispatch-records.ts';
import type { DeliveryConnection, SendOutcome } from './types.ts';

export type DispatcherPhase = 'Starting' | 'Idle' | 'AccumulatingBatch' | 'MessageRateThrottled' | 'AttemptingConnection' | 'DeliveringMessage' | 'Closing';

const CONNECT_FAILED = 'KumoMTA internal: failed to connect to any candidate hosts: ';
const DELIVER_FAILED = 'KumoMTA internal: error in deliver_message: ';

/**
 * One custom_lua session (engine.md §4): holds at most one connection for
 * its whole life, accumulates batches per batch_size / min_batch_size /
 * max_batch_latency, and turns each send outcome into records and spool
 * actions. Deliberate difference from KumoMTA: after closing a connection
 * (421 or an escaped error) the dispatcher exits instead of failing its next
 * batch with "only one connection attempt per session"; the maintainer
 * starts a fresh one for whatever is left.
 */
export class Dispatcher {
  readonly sessionId = uuidV4();
  phase: DispatcherPhase = 'Starting';
  lastActivity: number;
  private held: Message[] = [];
  /** The batch inside send(); the engine saves it if shutdown gives up waiting. */
  inFlight: readonly Message[] = [];
  private conn: DeliveryConnection | null = null;
  private deliveredThisConnection = 0;
  private batchStarted: number | null = null;
  private readonly site: DispatchSite;

  constructor(private readonly rq: ReadyQueue, private readonly engine: EngineContext) {
    this.lastActivity = engine.clock.now();
    this.site = {
      readyQueueName: rq.name,
      constructorName: rq.protocol.constructor,
      egressPool: rq.egressPool,
      egressSource: rq.egressSource,
      providerName: rq.pathConfig.providerName,
      sessionId: this.sessionId,
    };
  }

  private setPhase(phase: DispatcherPhase): void {
    this.phase = phase;
    this.lastActivity = this.engine.clock.now();
  }

  /** Runs the session; resolves true when it ended holding nothing. */
  async run(): Promise<boolean> {
    try {
      if (!this.rq.pathConfig.aggressiveConnectionOpening) {
        await this.obtainMessages();
        if (this.held.length === 0) return true;
      }
      for (;;) {
        if (!(await this.waitForMessages())) break;
        this.setPhase('AttemptingConnection');
        if (!this.conn) {
          const connected = await this.attemptConnection();
          if (!connected) break;
        }
        this.rq.consecutiveConnFailures = 0;
        this.setPhase('DeliveringMessage');
        if (!(await this.deliver())) break;
      }
      this.setPhase('Closing');
      await this.closeConnection();
    } catch (err) {
      this.engine.diag(`dispatcher ${this.sessionId} for ${this.rq.name} failed: ${(err as Error).stack ?? err}`);
      await this.closeConnection();
    }
    return this.returnHeld();
  }

  /** Messages still held when the session ends go back (engine.md §4.7). */
  private async returnHeld(): Promise<boolean> {
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
  private async obtainMessages(): Promise<boolean> {
    const e = this.engine;
    const { batchSize, minBatchSize } = this.rq.protocol;
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
  private async waitForMessages(): Promise<boolean> {
    const e = this.engine;
    const path = this.rq.pathConfig;
    if (e.isShuttingDown()) return false;
    if (this.conn && this.deliveredThisConnection >= path.maxDeliveriesPerConnection) return false;
    if (this.rq.isSuspended()) return this.drainSuspended();
    if (await this.obtainMessages()) return true;
    let deadline = e.clock.now() + path.timeouts.idleTimeoutMs;
    if (this.held.length > 0) {
      this.batchStarted ??= e.clock.now();
      deadline = Math.min(deadline, this.batchStarted + this.rq.protocol.maxBatchLatencyMs);
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

  /** Calls the constructor (lazily, once per session). False ⇒ the session ends. */
  private async attemptConnection(): Promise<boolean> {
    const e = this.engine;
    const m = e.metrics;
    m.incService(m.totalConnectionCount, 'lua', this.rq.name);
    m.incService(m.connectionCount, 'lua', this.rq.name);
    const q = parseQueueName(this.rq.representativeQueueName());
    let aborted: () => void = () => {};
    const shutdown = new Promise<'shutdown'>((resolve) => {
      if (e.shutdownSignal.aborted) resolve('shutdown');
      const onAbort = () => resolve('shutdown');
      e.shutdownSignal.addEventListener('abort', onAbort, { once: true });
      aborted = () => e.shutdownSignal.removeEventListener('abort', onAbort);
    });
    const connecting = e.connections.connect(this.rq.protocol.constructor, q.domain, q.tenant, q.campaign, { batchSize: this.rq.protocol.batchSize });
    try {
      const result = await Promise.race([connecting, shutdown]);
      if (result === 'shutdown') {
        m.incService(m.connectionCount, 'lua', this.rq.name, -1);
        void connecting.then((c) => c.close()).catch(() => {});
        return false;
      }
      this.conn = result;
      this.deliveredThisConnection = 0;
      return true;
    } catch (err) {
      m.incService(m.connectionCount, 'lua', this.rq.name, -1);
      await this.connectionFailed(errorText(err));
      return false;
    } finally {
      aborted();
    }
  }

  private async connectionFailed(text: string): Promise<void> {
    const e = this.engine;
    const held = this.held;
    this.held = [];
    const r = luaResponse(400, CONNECT_FAILED + text);
    for (const msg of held) {
      await e.log(dispatchEvent('TransientFailure', msg, r, this.site, false));
      e.metrics.incService(e.metrics.totalMessagesTransfail, 'lua', this.rq.name);
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: r });
    }
    const previous = this.rq.consecutiveConnFailures++;
    if (previous > this.rq.pathConfig.consecutiveConnectionFailuresBeforeDelay) await this.bulkDelay();
  }

  /** engine.md §4.6: everything in the ready queue takes a TransientFailure and backs off. */
  private async bulkDelay(): Promise<void> {
    const e = this.engine;
    const r = response(451, ENH_4_4_1, 'bulk delay of ready queue: too many successive connection failures where there was no answer from any hosts listed in MX');
    for (const msg of this.rq.takeAll()) {
      const ev = dispatchEvent('TransientFailure', msg, r, this.site, false);
      ev.deliveryProtocol = null;
      await e.log(ev);
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['TooManyConnectionFailures', 'LoggedTransientFailure']), response: r });
    }
  }

  private async closeConnection(): Promise<boolean> {
    const conn = this.conn;
    if (!conn) return false;
    this.conn = null;
    const m = this.engine.metrics;
    m.incService(m.connectionCount, 'lua', this.rq.name, -1);
    try {
      await conn.close();
    } catch (err) {
      this.engine.diag(`close() of ${this.rq.name} session ${this.sessionId} failed: ${errorText(err)}`);
    }
    return true;
  }

  /** Returns false when the connection was closed and the session must end. */
  private async deliver(): Promise<boolean> {
    const e = this.engine;
    if (this.rq.isSuspended()) return true;
    if (!(await this.applyMessageRateThrottles())) return true;
    const batch = this.held;
    this.held = [];
    this.inFlight = batch;
    let outcome: SendOutcome;
    try {
      for (const msg of batch) {
        msg.metaObject();
        msg.getData();
      }
      if (e.isShuttingDown()) throw new Error('activity refused: shutting down');
      if (this.rq.protocol.batchSize === 1 && batch.length > 1) {
        throw new Error('lua_dispatcher was configured with a batch size of 1, but multiple messages were popped');
      }
      this.deliveredThisConnection += batch.length;
      outcome = await this.conn!.send(batch);
    } catch (err) {
      outcome = { kind: 'error', text: errorText(err) };
    }
    this.inFlight = [];
    return this.applyOutcome(batch, outcome);
  }

  private async applyOutcome(batch: Message[], outcome: SendOutcome): Promise<boolean> {
    const e = this.engine;
    const m = e.metrics;
    const rq = this.rq.name;
    const provider = this.site.providerName;
    const count = (family: typeof m.totalMessagesDelivered, byProvider: typeof m.deliveredByProvider) => {
      m.incService(family, 'lua', rq, batch.length);
      if (provider !== null) byProvider.inc(provider, batch.length);
    };
    if (outcome.kind === 'delivered') {
      const r = luaResponse(200, outcome.content);
      count(m.totalMessagesDelivered, m.deliveredByProvider);
      await Promise.all(batch.map(async (msg) => {
        await e.log(dispatchEvent('Delivery', msg, r, this.site, true));
        m.deliveredByQueue.inc(safeQueueName(msg));
        void e.remove(msg);
      }));
      return true;
    }
    if (outcome.kind === 'rejected' && !(outcome.code >= 400 && outcome.code <= 499)) {
      const r = luaResponse(outcome.code, outcome.text);
      count(m.totalMessagesFail, m.failByProvider);
      await Promise.all(batch.map(async (msg) => {
        await e.log(dispatchEvent('Bounce', msg, r, this.site, true));
        m.failedByQueue.inc(safeQueueName(msg));
        void e.remove(msg);
      }));
      return true;
    }
    let closed = false;
    let r;
    if (outcome.kind === 'rejected') {
      r = luaResponse(outcome.code, outcome.text);
    } else {
      closed = await this.closeConnection();
      r = luaResponse(400, DELIVER_FAILED + outcome.text);
    }
    count(m.totalMessagesTransfail, m.transfailByProvider);
    const withPeer = outcome.kind === 'rejected';
    for (const msg of batch) await e.log(dispatchEvent('TransientFailure', msg, r, this.site, withPeer));
    await Promise.all(batch.map((msg) => e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: r })));
    if (outcome.kind === 'rejected' && outcome.code === 421) closed = await this.closeConnection();
    return !closed;
  }

  /** Path message-rate throttles (engine.md §4.4); false when the whole queue was requeued. */
  private async applyMessageRateThrottles(): Promise<boolean> {
    const e = this.engine;
    const path = this.rq.pathConfig;
    const throttles = [
      ...(path.maxMessageRate ? [[`kumomta.max_message_rate.${this.rq.name}`, path.maxMessageRate] as const] : []),
      ...Object.entries(path.additionalMessageRateThrottles),
    ].sort((a, b) => a[1].limit / a[1].periodMs - b[1].limit / b[1].periodMs);
    for (const [key, spec] of throttles) {
      for (let guard = 0; guard < 1000; guard++) {
        const { retryAfterMs } = e.throttles.check(key, spec);
        if (retryAfterMs === null) break;
        if (retryAfterMs >= path.timeouts.idleTimeoutMs) {
          const r = response(451, ENH_4_4_1, 'KumoMTA internal: ready queue throttled');
          const all = [...this.held, ...this.rq.takeAll()];
          this.held = [];
          for (const msg of all) await e.requeue(msg, { increment: false, delayMs: retryAfterMs, context: new InsertContext(['MessageRateThrottle']), response: r });
          return false;
        }
        this.setPhase('MessageRateThrottled');
        try {
          await e.clock.sleep(retryAfterMs, e.shutdownSignal);
        } catch {
          return false;
        }
        this.setPhase('DeliveringMessage');
      }
    }
    return true;
  }
}

function safeQueueName(msg: Message): string {
  try {
    return msg.queueName();
  } catch (err) {
    return String((err as Error).message);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
