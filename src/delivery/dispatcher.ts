import type { Message } from '../message/message.ts';
import { parseQueueName } from '../message/queue-name.ts';
import type { EngineContext } from '../queue/engine-context.ts';
import { InsertContext } from '../queue/insert-context.ts';
import type { ReadyQueue } from '../queue/ready-queue.ts';
import { dispatchEvent, luaResponse, type DispatchSite } from './dispatch-records.ts';
import { SessionBase } from './session-base.ts';
import type { CustomLuaProtocol } from '../queue/queue-config.ts';
import type { DeliveryConnection, SendOutcome } from './types.ts';

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
export class Dispatcher extends SessionBase {
  protected readonly metricsProtocol = 'lua';
  private conn: DeliveryConnection | null = null;
  private deliveredThisConnection = 0;
  private readonly site: DispatchSite;
  private readonly protocol: CustomLuaProtocol;

  constructor(rq: ReadyQueue, engine: EngineContext) {
    super(rq, engine);
    this.protocol = rq.protocol as CustomLuaProtocol;
    this.site = {
      readyQueueName: rq.name,
      constructorName: this.protocol.constructor,
      egressPool: rq.egressPool,
      egressSource: rq.egressSource,
      providerName: rq.pathConfig.providerName,
      sessionId: this.sessionId,
    };
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

  protected batchLimits(): [number, number, number] {
    return [this.protocol.batchSize, this.protocol.minBatchSize, this.protocol.maxBatchLatencyMs];
  }

  protected connectionFull(): boolean {
    return this.conn !== null && this.deliveredThisConnection >= this.rq.pathConfig.maxDeliveriesPerConnection;
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
    const connecting = e.connections.connect(this.protocol.constructor, q.domain, q.tenant, q.campaign, { batchSize: this.protocol.batchSize });
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
      if (this.protocol.batchSize === 1 && batch.length > 1) {
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
