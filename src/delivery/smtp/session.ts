/**
 * One SMTP delivery session for a ready queue (smtp-delivery.md §3.1):
 * builds its connection plan, connects candidate by candidate, reuses the
 * connection across messages, runs transactions slice by slice and turns
 * each recipient's response into records and the message's fate (§4.6).
 */
import type { Message } from '../../message/message.ts';
import { parseQueueName } from '../../message/queue-name.ts';
import type { RecordEvent, RecordResponse, TlsInfo } from '../../records/types.ts';
import type { EngineContext } from '../../queue/engine-context.ts';
import { InsertContext } from '../../queue/insert-context.ts';
import type { ReadyQueue, SmtpReadyProtocol } from '../../queue/ready-queue.ts';
import { SessionBase } from '../session-base.ts';
import { openConnection, type OpenFailureKind, type SmtpConnection } from './connect.ts';
import { buildPlan, debugCandidate, peerAddress, type Candidate } from './mx-plan.ts';
import { applyRewrite, perRecipient } from './outcomes.ts';
import type { SmtpPathOptions } from './path-options.ts';
import { recordPlanFailure } from './plan-failures.ts';
import { CONNECT_FAILED, OPP_INSECURE_SUMMARY, UNPLUMBED_SUMMARY, recordTypeOf, synthesized, tooManyRecipients, type TooMany } from './responses.ts';
import { runTransaction } from './transaction.ts';

/** Ready queues whose TLS failed recently (remember_broken_tls), process-local as in KumoMTA. */
const brokenTls = new Map<string, number>();

type Attempt = 'connected' | 'failed' | 'plan-exhausted' | 'peer-closed-continue' | 'peer-closed-end' | 'throttled';

export class SmtpSession extends SessionBase {
  protected readonly metricsProtocol = 'smtp_client';
  private readonly protocol: SmtpReadyProtocol;
  private conn: SmtpConnection | null = null;
  private plan: Candidate[] = [];
  private current: Candidate | null = null;
  private tls: TlsInfo | null = null;
  private failures: { text: string; kind: OpenFailureKind }[] = [];
  private attempted = false;
  private terminatedOk = false;
  /** (message, recipient) pairs of the previous transaction: one free retry for an ambiguous 452 (§4.4). */
  private previousTx = new Set<string>();

  constructor(rq: ReadyQueue, engine: EngineContext) {
    super(rq, engine);
    this.protocol = rq.protocol as SmtpReadyProtocol;
  }

  /** The egress source this ready queue delivers from (§2.10), as last refreshed with the path config. */
  private get source() {
    return this.rq.source;
  }

  private get opts(): SmtpPathOptions {
    return this.rq.pathConfig.smtp;
  }

  protected batchLimits(): [number, number, number] {
    return [1, 1, 0];
  }

  protected connectionFull(): boolean {
    return this.conn !== null && this.conn.deliveries >= this.rq.pathConfig.maxDeliveriesPerConnection;
  }

  async run(): Promise<boolean> {
    try {
      if (!(await this.startPlan())) return this.returnHeld();
      if (!this.rq.pathConfig.aggressiveConnectionOpening) {
        await this.obtainMessages();
        if (this.held.length === 0) return true;
      }
      for (;;) {
        if (this.terminatedOk) break;
        if (!(await this.waitForMessages())) break;
        this.setPhase('AttemptingConnection');
        const attempt = await this.attemptConnection();
        if (attempt === 'failed') continue;
        if (attempt === 'plan-exhausted') {
          await this.planExhausted();
          break;
        }
        if (attempt === 'throttled') break;
        if (attempt === 'peer-closed-end') {
          const held = this.held;
          this.held = [];
          await this.rq.drainToScheduled('PeerClosedConnection', held);
          break;
        }
        if (attempt === 'peer-closed-continue') continue;
        this.failures = [];
        this.rq.consecutiveConnFailures = 0;
        this.attempted = true;
        this.setPhase('DeliveringMessage');
        await this.deliver();
      }
      this.setPhase('Closing');
      await this.close();
    } catch (err) {
      this.engine.diag(`smtp session ${this.sessionId} for ${this.rq.name} failed: ${(err as Error).stack ?? err}`);
      this.dropConnection();
    }
    return this.returnHeld();
  }

  /** §1.8: the plan, or a bulk outcome for everything queued. */
  private async startPlan(): Promise<boolean> {
    const e = this.engine;
    try {
      const result = await buildPlan(this.protocol.route, this.opts, e.smtp.resolver, e.random, (t) => e.diag(t));
      if (result.kind === 'plan') {
        this.plan = result.candidates;
        return true;
      }
      await recordPlanFailure(result, this.bulkTargets(), this.opts, this.bulkContext());
    } catch (err) {
      // KumoMTA aborts the session silently and retries about every second (Appendix B #1); we fail visibly.
      await recordPlanFailure({ kind: 'lookup-error', text: (err as Error).message }, this.bulkTargets(), this.opts, this.bulkContext());
    }
    return false;
  }

  private bulkTargets(): Message[] {
    const all = [...this.held, ...this.rq.takeAll()];
    this.held = [];
    return all;
  }

  private bulkContext() {
    return { engine: this.engine, record: (type: RecordEvent['type'], msg: Message, r: RecordResponse) => this.bulkRecord(type, msg, r), count: (type: RecordEvent['type'], n: number) => this.count(type, n) };
  }

  private count(type: RecordEvent['type'], n: number): void {
    const m = this.engine.metrics;
    const [family, byProvider] = type === 'Delivery' ? [m.totalMessagesDelivered, m.deliveredByProvider] : type === 'Bounce' ? [m.totalMessagesFail, m.failByProvider] : [m.totalMessagesTransfail, m.transfailByProvider];
    m.incService(family, this.metricsProtocol, this.rq.name, n);
    const provider = this.rq.pathConfig.providerName;
    if (provider !== null) byProvider.inc(provider, n);
  }

  /** §3.2: reuse probe, connection rate, next candidate, connect. */
  private async attemptConnection(): Promise<Attempt> {
    const e = this.engine;
    if (this.conn) {
      if (this.conn.sock.probe() === 'idle') return 'connected';
      this.dropConnection();
      this.applyReconnectRule();
      // KumoMTA parks the held message for 0–60 s after an EOF here (Appendix B #4); we reinsert it at once, as for a 421.
      return this.terminatedOk ? 'peer-closed-end' : 'peer-closed-continue';
    }
    if (this.plan.length === 0) {
      if (this.attempted) {
        this.terminatedOk = true;
        return 'peer-closed-end';
      }
      return 'plan-exhausted';
    }
    const path = this.rq.pathConfig;
    if (path.maxConnectionRate) {
      const ok = await this.waitForThrottles([[`${this.rq.name}-connection-rate`, path.maxConnectionRate]], 'ConnectionRateThrottled', 'ConnectionRateThrottle');
      if (!ok) return 'throttled';
    }
    const suspended = e.egress.sourceSuspension(this.source.name);
    if (suspended !== null) {
      // §2.10: a health-suspended source fails connects at once; its ready queues drain.
      this.failures.push({ text: `source ${this.source.name} is unhealthy and suspended`, kind: 'other' });
      return 'plan-exhausted';
    }
    const c = this.plan.shift()!;
    const port = this.source.remotePort ?? c.port ?? this.opts.smtpPort;
    const m = e.metrics;
    m.incService(m.totalConnectionCount, this.metricsProtocol, this.rq.name);
    m.incService(m.connectionCount, this.metricsProtocol, this.rq.name);
    const broken = (brokenTls.get(this.rq.name) ?? 0) > e.clock.now();
    const result = await openConnection({
      candidate: c, port, sourceAddress: this.source.sourceAddress ?? undefined, ehloName: this.opts.ehloDomain ?? this.source.ehloDomain ?? e.smtp.hostname,
      opts: this.opts, timeouts: path.timeouts, clock: e.clock, tlsBroken: broken, redirect: e.smtp.redirect,
      mtaSts: this.protocol.route.mx?.mtaSts ?? 'None',
    });
    if (!result.ok) {
      m.incService(m.connectionCount, this.metricsProtocol, this.rq.name, -1);
      if (result.rememberBrokenTls) brokenTls.set(this.rq.name, e.clock.now() + (this.opts.rememberBrokenTlsMs ?? 15 * 60_000));
      if (result.retrySameCandidate) this.plan.unshift(c);
      if (result.kind === 'unplumbed') e.egress.reportFailure(this.source, 'unplumbed');
      this.failures.push({ text: result.text, kind: result.kind });
      e.diag(`${this.rq.name}: ${result.text}`);
      return this.plan.length === 0 ? 'plan-exhausted' : 'failed';
    }
    this.conn = result.conn;
    this.current = c;
    // Cleared per connection (KumoMTA keeps stale values for the session, Appendix B #3).
    this.tls = result.conn.sock.tls;
    return 'connected';
  }

  /** §3.1: every candidate failed before a connection was up. */
  private async planExhausted(): Promise<void> {
    const e = this.engine;
    const kinds = new Set(this.failures.map((f) => f.kind));
    const summary = kinds.size === 1 && kinds.has('unplumbed') ? UNPLUMBED_SUMMARY : kinds.size === 1 && kinds.has('opportunistic-insecure') ? OPP_INSECURE_SUMMARY : '';
    const r = synthesized(400, null, CONNECT_FAILED + summary + this.failures.map((f) => f.text).join(', '));
    const held = this.held;
    this.held = [];
    for (const msg of held) {
      await e.log({ ...this.bulkRecord('TransientFailure', msg, r), deliveryProtocol: 'ESMTP' });
      this.count('TransientFailure', msg.recipients.length);
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: r });
    }
    const previous = this.rq.consecutiveConnFailures++;
    if (previous > this.rq.pathConfig.consecutiveConnectionFailuresBeforeDelay) await this.bulkDelay();
  }

  /** §3.10: what the plan looks like after an established connection broke. */
  private applyReconnectRule(): void {
    const strategy = this.opts.reconnectStrategy;
    if (strategy === 'ReconnectSameHost' && this.current) this.plan.unshift(this.current);
    else if (strategy === 'TerminateSession') this.plan = [];
    if (this.plan.length === 0 && this.attempted) this.terminatedOk = true;
  }

  private dropConnection(): void {
    if (!this.conn) return;
    this.conn.sock.destroy();
    this.conn = null;
    const m = this.engine.metrics;
    m.incService(m.connectionCount, this.metricsProtocol, this.rq.name, -1);
  }

  private async close(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    await conn.sock.quit(this.rq.pathConfig.timeouts.idleTimeoutMs);
    this.dropConnection();
  }

  private record(type: RecordEvent['type'], msg: Message, recipients: string[], r: RecordResponse, conn: SmtpConnection): RecordEvent {
    const ev: RecordEvent = {
      ...this.bulkRecord(type, msg, r), recipients,
      peerAddress: peerAddress(conn.candidate), sourceAddress: { address: conn.sock.localAddress }, deliveryProtocol: 'ESMTP',
    };
    if (this.tls) ev.tls = this.tls;
    return ev;
  }

  /** §3.6 + §4.6 for the held message. */
  private async deliver(): Promise<void> {
    const e = this.engine;
    const started = e.clock.now();
    if (!(await this.applyMessageRateThrottles())) return;
    const msg = this.held.shift()!;
    this.inFlight = [msg];
    try {
      await this.deliverMessage(msg);
    } catch (err) {
      const r = synthesized(400, null, `KumoMTA internal: error in deliver_message: ${(err as Error).message}`);
      await e.log({ ...this.bulkRecord('TransientFailure', msg, r), deliveryProtocol: 'ESMTP' });
      this.count('TransientFailure', msg.recipients.length);
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext(['LoggedTransientFailure']), response: r });
    } finally {
      this.inFlight = [];
      const seconds = (e.clock.now() - started) / 1000;
      e.metrics.deliverLatency.observe({ service: this.metricsProtocol }, seconds);
      e.metrics.deliverLatency.observe({ service: `${this.metricsProtocol}:${this.rq.name}` }, seconds);
    }
  }

  private async deliverMessage(msg: Message): Promise<void> {
    const e = this.engine;
    const data = msg.getData();
    const q = parseQueueName(msg.queueName());
    const queueArgs = { domain: q.domain, tenant: q.tenant, campaign: q.campaign, routingDomain: q.routingDomain ?? q.domain };
    let pending = [...msg.recipients];
    const transfailed: string[] = [];
    let loggedTransfail = false;
    let retryElsewhere = false;
    while (pending.length > 0 && this.conn) {
      const conn = this.conn;
      const slice = pending.slice(0, this.opts.maxRecipientsPerBatch);
      pending = pending.slice(slice.length);
      const result = await runTransaction(conn.sock, {
        sender: msg.sender, recipients: slice, data, rset: conn.deliveries > 0 && conn.rsetNext, extensions: conn.extensions,
        pipelining: this.opts.enablePipelining, ignore8bitChecks: this.opts.ignore8bitChecks, timeouts: this.rq.pathConfig.timeouts,
      });
      conn.deliveries++;
      conn.rsetNext = result.kind === 'success' ? this.opts.enableRset : true;
      const sr = perRecipient(result, slice, this.rq.name, `Some(${debugCandidate(conn.candidate)})`);
      await applyRewrite(sr.responses, e.smtp.rewriteDeliveryStatus, queueArgs, (t) => e.diag(t));
      const groups = new Map<string, { type: RecordEvent['type']; response: RecordResponse; recipients: string[]; skip: boolean }>();
      const thisTx = new Set<string>();
      let broken = sr.broken;
      let nonMessageCommand = false;
      sr.responses.forEach(({ recipient, response }, i) => {
        thisTx.add(`${msg.id}\0${recipient}`);
        const signal = tooManyRecipients(response, e.smtp.classify);
        const type = recordTypeOf(response, signal);
        // Retry at once only past the first recipient, and an ambiguous 452 only once (§4.4).
        let tm: TooMany = signal;
        if (i === 0 || slice.length === 1) tm = 'No';
        else if (tm === 'Maybe') tm = this.previousTx.has(`${msg.id}\0${recipient}`) ? 'No' : 'Yes';
        if (response.code === 421) broken = true;
        if (response.command !== null && !/^(MAIL|RCPT|DATA|\.\r\n)/.test(response.command)) nonMessageCommand = true;
        const key = `${JSON.stringify(response)}\0${tm}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { type, response, recipients: [], skip: type === 'TransientFailure' && tm === 'Yes' }));
        g.recipients.push(recipient);
      });
      this.previousTx = thisTx;
      const retryNow: string[] = [];
      for (const g of groups.values()) {
        this.count(g.type, g.recipients.length);
        if (g.skip) {
          retryNow.push(...g.recipients);
          continue;
        }
        if (g.type === 'TransientFailure') {
          transfailed.push(...g.recipients);
          loggedTransfail = true;
        }
        await e.log(this.record(g.type, msg, g.recipients, g.response, conn));
        if (g.type === 'Delivery') e.metrics.deliveredByQueue.inc(msg.queueName());
        else if (g.type === 'Bounce') e.metrics.failedByQueue.inc(msg.queueName());
      }
      pending = [...slice.filter((r) => retryNow.includes(r)), ...pending];
      if (broken || conn.sock.isClosed) {
        this.dropConnection();
        this.applyReconnectRule();
        retryElsewhere = this.opts.tryNextHostOnTransportError && (broken || nonMessageCommand) && this.plan.length > 0;
      }
    }
    const leftovers = [...transfailed, ...pending];
    if (leftovers.length === 0) {
      void e.remove(msg);
      return;
    }
    msg.recipients = leftovers;
    msg.metaDirty = true;
    if (retryElsewhere) {
      this.held.unshift(msg);
      this.terminatedOk = false;
      return;
    }
    const context = new InsertContext([loggedTransfail ? 'LoggedTransientFailure' : 'TooManyRecipients']);
    const r = synthesized(451, null, 'KumoMTA internal: message requeued');
    await e.requeue(msg, { increment: true, delayMs: null, context, response: r });
  }
}
