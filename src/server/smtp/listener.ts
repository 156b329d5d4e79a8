/**
 * `kumo.start_esmtp_listener` (engine.md §9, lua-api-more.md §2, §8) on
 * smtp-server: connection gates, per-session options (via/peer/dynamic
 * parameters) and the pre-banner events, listener-domain relay control at
 * RCPT, size and recipient limits (SIZE is advertised and enforced at MAIL
 * FROM and while DATA arrives), STARTTLS with the configured or a self-signed
 * certificate (optionally requiring client certificates), and the Reception
 * flow after DATA within data_processing_timeout. EHLO/HELO, AUTH, XCLIENT
 * and every reply go through the per-connection hooks in connection-hooks.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { SMTPServer, SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { DiagnosticLog } from '../../kumo/diagnostics.ts';
import type { RecordSink, TlsInfo } from '../../records/types.ts';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { MessageIntake, RunningListener, ServerHealth } from '../ports.ts';
import type { ListenerPolicy } from '../policy-events.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { formatSocketAddress, plainIp } from '../options.ts';
import { loadTlsMaterial, readSource } from '../tls.ts';
import { applySessionOverrides, sessionConfig, type EsmtpListenerConfig } from './config.ts';
import { cloneJson, ConnectionMeta } from './conn-meta.ts';
import { checkMessageData } from './data-checks.ts';
import { installConnectionHooks, type SmtpConnectionInternals } from './connection-hooks.ts';
import { acceptsRecipient, domainOf, ListenerDomainCache, relayDecision } from './listener-domain.ts';
import { DataDeadline, logRejection, Reception } from './reception.ts';
import { replyForPolicyError, SmtpServerEvents, technicalDifficulties, type SmtpReply } from './server-events.ts';
import type { SmtpSessionState } from './session-state.ts';

export interface EsmtpListenerDeps {
  intake: MessageIntake;
  records: RecordSink;
  policy: ListenerPolicy;
  listenerMetrics: ListenerMetrics;
  clock: Clock;
  log: DiagnosticLog;
  health?: ServerHealth;
}

interface SmtpError extends Error {
  responseCode: number;
}

function smtpError(code: number, text: string): SmtpError {
  return Object.assign(new Error(text), { responseCode: code });
}

type Done = (err?: Error | null) => void;

/** `["C=US","O=Example","CN=host"]` from the client certificate, in certificate order; [] without one. */
function peerSubjectName(socket: TLSSocket): string[] {
  const peer = socket.getPeerCertificate();
  if (!peer?.subject) return [];
  return Object.entries(peer.subject).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${String(x)}`));
}

function tlsInfoOf(session: SMTPServerSession, socket: TLSSocket): TlsInfo | undefined {
  const t = session.tlsOptions;
  if (!session.secure || !t) return undefined;
  return { cipher: t.standardName ?? t.name, protocolVersion: (t.version ?? '').replace(/\./g, '_'), peerSubjectName: peerSubjectName(socket) };
}

/**
 * Reads DATA; null as soon as it grows past `limit`. Nothing past the limit
 * is kept, and the stream keeps flowing (into nothing) until the connection
 * closes, so smtp-server never writes into a destroyed stream.
 */
function readData(stream: Readable, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      over = true;
      chunks.length = 0;
      resolve(null);
    });
    stream.on('end', () => over || resolve(Buffer.concat(chunks)));
    stream.on('error', (e) => over || reject(e));
  });
}

export class EsmtpListener implements RunningListener {
  readonly kind = 'esmtp' as const;
  private readonly states = new Map<string, SmtpSessionState>();
  private readonly connections = new Map<string, SmtpConnectionInternals>();
  private readonly reception: Reception;
  private readonly events: SmtpServerEvents;
  private boundAddress = '';
  private server!: SMTPServer;

  private constructor(
    readonly config: EsmtpListenerConfig,
    private readonly deps: EsmtpListenerDeps,
  ) {
    this.events = new SmtpServerEvents(deps.policy.events, deps.policy.pushMessage);
    this.reception = new Reception({
      intake: deps.intake,
      records: deps.records,
      events: this.events,
      metrics: deps.listenerMetrics,
      clock: deps.clock,
      log: deps.log,
    });
  }

  static async start(config: EsmtpListenerConfig, deps: EsmtpListenerDeps): Promise<EsmtpListener> {
    const listener = new EsmtpListener(config, deps);
    const tls = await loadTlsMaterial('kumo.start_esmtp_listener', config.hostname, config.tlsCertificate, config.tlsPrivateKey);
    const clientCa = config.tlsRequiredClientCa && (await readSource('kumo.start_esmtp_listener: tls_required_client_ca', config.tlsRequiredClientCa));
    const { SMTPServer } = await import('smtp-server'); // loaded when a listener starts, not by --validate
    const server = new SMTPServer({
      name: config.hostname,
      banner: config.banner,
      key: tls.key,
      cert: tls.cert,
      ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      authOptional: true,
      // Enhanced codes are part of our reply texts, as in KumoMTA.
      hideENHANCEDSTATUSCODES: true,
      disableReverseLookup: true,
      // The client's address then comes from the PROXY header (v1; smtp-server has no v2).
      useProxy: config.requireProxyProtocol,
      socketTimeout: config.clientTimeoutMs,
      logger: false,
      onConnect: (session, cb) => void listener.onConnect(session, cb),
      onMailFrom: (address, session, cb) => void listener.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => void listener.onRcptTo(address.address, session, cb),
      onData: (stream, session, cb) => void listener.onData(stream, session, cb),
      onClose: (session) => listener.onClose(session),
      onSecure: (socket, session, cb) => {
        listener.onSecure(socket as TLSSocket, session);
        cb();
      },
    });
    listener.server = server;
    listener.hookConnections();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => deps.log.write('warn', `esmtp listener ${listener.address}: ${(e as Error).message}`));
    const a = server.server.address() as { address: string; port: number };
    listener.boundAddress = formatSocketAddress(a.address, a.port);
    deps.log.write('info', `esmtp listener on ${listener.boundAddress}`);
    return listener;
  }

  /** Every new SMTPConnection gets the command hooks before it greets (smtp-server adds it to `connections` first). */
  private hookConnections(): void {
    const connections = (this.server as unknown as { connections: Set<SmtpConnectionInternals> }).connections;
    const add = connections.add.bind(connections);
    connections.add = (conn: SmtpConnectionInternals) => {
      if (!connections.has(conn)) this.hook(conn);
      return add(conn);
    };
  }

  private hook(conn: SmtpConnectionInternals): void {
    this.connections.set(conn.id, conn);
    installConnectionHooks(conn, {
      events: this.events,
      stateOf: (id) => this.states.get(id),
      onRejection: (s, reply, command, sender, recipient) =>
        void logRejection(this.deps.records, this.deps.listenerMetrics, s, reply, command, sender, recipient).catch((e) =>
          this.deps.log.write('error', `esmtp: logging a Rejection failed: ${(e as Error).message}`),
        ),
      log: (text) => this.deps.log.write('error', text),
      readdress: (s) => this.readdress(s),
    });
  }

  get address(): string {
    return this.boundAddress;
  }

  get port(): number {
    return (this.server.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private policyFailure(e: unknown, s: SmtpSessionState, event: string): SmtpReply {
    return replyForPolicyError(e, s.config.hostname, (t) => this.deps.log.write('error', t), event);
  }

  private async onConnect(session: SMTPServerSession, cb: Done): Promise<void> {
    const reason = this.deps.health?.unavailableReason();
    const metrics = this.deps.listenerMetrics;
    if (reason || this.states.size >= this.config.maxConnections) {
      metrics.connectionsDenied.inc({ service: 'esmtp_listener' });
      const why = reason ?? 'too many concurrent sessions. Try later';
      return cb(smtpError(421, `4.3.2 ${this.config.hostname} ${why}`));
    }
    const peerIp = plainIp(session.remoteAddress);
    const localIp = plainIp(session.localAddress);
    const localAddress = formatSocketAddress(localIp, session.localPort);
    const connMeta = new ConnectionMeta(
      {
        reception_protocol: 'ESMTP',
        received_via: localAddress,
        received_from: formatSocketAddress(peerIp, session.remotePort),
        hostname: this.config.hostname,
      },
      peerIp,
    );
    const s: SmtpSessionState = {
      sessionId: randomUUID(),
      connMeta,
      peerIp,
      peerPort: session.remotePort,
      localAddress,
      localIp,
      localPort: session.localPort,
      ehloName: '',
      tls: undefined,
      config: this.config,
      domains: this.domainCache(connMeta, () => s.localAddress),
      acceptedRecipients: 0,
      authenticated: false,
      command: null,
      recordCommand: null,
      afterData: false,
    };
    this.states.set(session.id, s);
    metrics.connectionCount.inc({ service: 'esmtp_listener' });
    let step = 'smtp_server_get_dynamic_parameters';
    try {
      await this.configure(s);
      step = 'smtp_server_connection_accepted';
      await this.events.connectionAccepted(connMeta);
    } catch (e) {
      const reply = this.policyFailure(e, s, step);
      if (reply.recordCommand) s.recordCommand = reply.recordCommand;
      return cb(smtpError(reply.code, reply.text));
    }
    cb();
  }

  private domainCache(connMeta: ConnectionMeta, listener: () => string): ListenerDomainCache {
    return new ListenerDomainCache((domain) => this.events.getListenerDomain(domain, listener(), connMeta));
  }

  /**
   * The session's options from its addresses: `via`, `peer`, then
   * `smtp_server_get_dynamic_parameters`. Run at connect and again after
   * XCLIENT changed the addresses (which also empties the listener-domain cache).
   */
  private async configure(s: SmtpSessionState): Promise<void> {
    s.config = sessionConfig(this.config, s.localIp, s.peerIp);
    if (this.events.has('smtp_server_get_dynamic_parameters')) {
      const overrides = await this.events.dynamicParameters(s.localAddress, s.connMeta);
      s.config = applySessionOverrides(s.config, overrides, 'smtp_server_get_dynamic_parameters');
    }
    for (const [key, value] of Object.entries(s.config.meta)) s.connMeta.set(key, cloneJson(value));
    s.connMeta.set('hostname', s.config.hostname);
  }

  /** XCLIENT moved the session to other addresses. */
  private async readdress(s: SmtpSessionState): Promise<void> {
    s.connMeta.authInfo.peer_address = s.peerIp;
    s.domains = this.domainCache(s.connMeta, () => s.localAddress);
    await this.configure(s);
  }

  private onClose(session: SMTPServerSession): void {
    this.connections.delete(session.id);
    if (this.states.delete(session.id)) this.deps.listenerMetrics.connectionCount.dec({ service: 'esmtp_listener' });
  }

  /** After STARTTLS: the TLS details go into the connection meta (and the records). */
  private onSecure(socket: TLSSocket, session: SMTPServerSession): void {
    const s = this.states.get(session.id);
    const tls = s && tlsInfoOf(session, socket);
    if (!s || !tls) return;
    s.tls = tls;
    s.connMeta.set('tls_cipher', tls.cipher);
    s.connMeta.set('tls_protocol_version', tls.protocolVersion);
    s.connMeta.set('tls_peer_subject_name', tls.peerSubjectName);
  }

  /** Answers a command hook: an error reply, closing afterwards when the reply asks for it. */
  private refuse(session: SMTPServerSession, reply: SmtpReply, cb: Done): void {
    const s = this.states.get(session.id);
    if (s && reply.recordCommand) s.recordCommand = reply.recordCommand;
    cb(smtpError(reply.code, reply.text));
    if (!reply.close || reply.code === 421) return; // smtp-server closes on 421 itself
    const conn = this.connections.get(session.id);
    if (reply.followWith421) conn?.send(421, `${this.states.get(session.id)?.config.hostname ?? ''} disconnecting due to previous error`);
    else conn?.close();
  }

  private async onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: Done): Promise<void> {
    const s = this.states.get(session.id);
    if (!s) return cb(smtpError(421, technicalDifficulties(this.config.hostname).text));
    // RFC 1870: a declared size over the limit is refused before any data is sent.
    const args = address.args as Record<string, string> | false;
    const declared = Number((args && args.SIZE) || 0);
    if (declared > s.config.maxMessageSize) return cb(smtpError(552, '5.3.4 message too big'));
    try {
      await this.events.mailFrom(address.address, s.connMeta);
    } catch (e) {
      return this.refuse(session, this.policyFailure(e, s, 'smtp_server_mail_from'), cb);
    }
    cb();
  }

  private async onRcptTo(address: string, session: SMTPServerSession, cb: Done): Promise<void> {
    const s = this.states.get(session.id);
    if (!s) return cb(smtpError(421, technicalDifficulties(this.config.hostname).text));
    const env = session.envelope;
    const sender = env.mailFrom ? env.mailFrom.address : '';
    try {
      const senderEntry = await s.domains.get(domainOf(sender));
      const recipientEntry = await s.domains.get(domainOf(address));
      const decision = relayDecision(s.peerIp, s.config.relayHosts.contains(s.peerIp), senderEntry, recipientEntry);
      if (!acceptsRecipient(decision)) {
        return cb(smtpError(550, `5.7.1 relaying not permitted for ${s.connMeta.get('received_from')}`));
      }
    } catch (e) {
      return this.refuse(session, this.policyFailure(e, s, 'get_listener_domain'), cb);
    }
    if (env.rcptTo.length >= s.config.maxRecipientsPerMessage) return cb(smtpError(452, '4.5.3 too many recipients'));
    if (s.acceptedRecipients >= s.config.maxMessagesPerConnection) {
      return cb(smtpError(451, `4.5.3 ${s.config.hostname} too many messages on this connection`));
    }
    s.acceptedRecipients++;
    try {
      await this.events.rcptTo(address, s.connMeta);
    } catch (e) {
      return this.refuse(session, this.policyFailure(e, s, 'smtp_server_rcpt_to'), cb);
    }
    cb();
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): Promise<void> {
    const s = this.states.get(session.id);
    const env = session.envelope;
    let reply: SmtpReply;
    try {
      const data = await readData(stream, s?.config.maxMessageSize ?? this.config.maxMessageSize);
      if (!s) reply = technicalDifficulties(this.config.hostname);
      else if (data === null) return this.tooBig(session, s);
      else {
        const checked = checkMessageData(data, s.config.invalidLineEndings, s.config.lineLengthHardLimit);
        const sender = env.mailFrom ? env.mailFrom.address : '';
        reply = Buffer.isBuffer(checked) ? await this.receiveWithin(s, sender, env.rcptTo.map((r) => r.address), checked) : checked;
      }
    } catch (e) {
      this.deps.log.write('error', `esmtp reception failed: ${(e as Error).stack ?? e}`);
      reply = technicalDifficulties(this.config.hostname, (e as Error).message);
    }
    if (s) s.afterData = true;
    if (reply.code < 400) cb(null, reply.text);
    else this.refuse(session, reply, cb);
    if (s) s.afterData = false;
  }

  /** The reception, or `451 4.4.5 data_processing_timeout exceeded (<step>)` when it takes too long. */
  private async receiveWithin(s: SmtpSessionState, sender: string, recipients: string[], data: Buffer): Promise<SmtpReply> {
    const deadline = new DataDeadline();
    let timer: TimerHandle | undefined;
    const timeout = new Promise<SmtpReply>((resolve) => {
      timer = this.deps.clock.setTimer(s.config.dataProcessingTimeoutMs, () => {
        deadline.expired = true;
        resolve(deadline.reply);
      });
    });
    try {
      return await Promise.race([this.reception.receive(s, sender, recipients, data, deadline), timeout]);
    } finally {
      timer?.cancel();
    }
  }

  /**
   * The message grew past max_message_size: answer now instead of reading
   * the rest. SMTP has no way to resynchronise before the final dot, so the
   * connection closes after the reply.
   */
  private tooBig(session: SMTPServerSession, s: SmtpSessionState): void {
    const conn = this.connections.get(session.id);
    s.afterData = true;
    conn?.send(552, '5.3.4 message too big');
    s.afterData = false;
    conn?.close();
  }
}
