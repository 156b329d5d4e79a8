/**
 * `kumo.start_esmtp_listener` (engine.md §9) on smtp-server: relay control
 * at RCPT, size and recipient limits, STARTTLS with the configured or a
 * self-signed certificate, and the Reception flow after DATA.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { DiagnosticLog } from '../../kumo/diagnostics.ts';
import type { RecordSink, TlsInfo } from '../../records/types.ts';
import type { Clock } from '../../util/clock.ts';
import type { MessageIntake, RunningListener, ServerHealth } from '../ports.ts';
import type { ListenerPolicy } from '../policy-events.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { formatSocketAddress, plainIp } from '../options.ts';
import { loadTlsMaterial } from '../tls.ts';
import type { EsmtpListenerConfig } from './config.ts';
import { ConnectionMeta } from './conn-meta.ts';
import { logRejection, Reception, type SmtpReply, type SmtpSessionState } from './reception.ts';

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

interface ConnectionState extends SmtpSessionState {
  acceptedRecipients: number;
}

/** The smtp-server connection object behind a session (for closing it after a reply). */
interface SmtpConnectionHandle {
  id: string;
  close(): void;
  send(code: number, text: string): void;
  /** smtp-server's socket; used only to write the continuation lines of a multi-line reply. */
  _socket?: { writable: boolean; write(text: string): void };
}

function tlsInfoOf(session: SMTPServerSession): TlsInfo | undefined {
  const t = session.tlsOptions;
  if (!session.secure || !t) return undefined;
  return { cipher: t.standardName ?? t.name, protocolVersion: (t.version ?? '').replace(/\./g, '_'), peerSubjectName: [] };
}

/** Reads DATA, counting bytes so an oversized message can be refused after it was drained. */
async function readData(stream: Readable, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? null : Buffer.concat(chunks);
}

export class EsmtpListener implements RunningListener {
  readonly kind = 'esmtp' as const;
  private readonly states = new Map<string, ConnectionState>();
  private readonly reception: Reception;
  private boundAddress = '';
  private server!: SMTPServer;

  private constructor(
    readonly config: EsmtpListenerConfig,
    private readonly deps: EsmtpListenerDeps,
  ) {
    this.reception = new Reception({
      intake: deps.intake,
      records: deps.records,
      policy: deps.policy,
      metrics: deps.listenerMetrics,
      clock: deps.clock,
      log: deps.log,
      deferredSpool: config.deferredSpool,
      traceHeaders: config.traceHeaders,
    });
  }

  static async start(config: EsmtpListenerConfig, deps: EsmtpListenerDeps): Promise<EsmtpListener> {
    const listener = new EsmtpListener(config, deps);
    const tls = await loadTlsMaterial('kumo.start_esmtp_listener', config.hostname, config.tlsCertificate, config.tlsPrivateKey);
    listener.server = new SMTPServer({
      name: config.hostname,
      banner: config.banner,
      key: tls.key,
      cert: tls.cert,
      authOptional: true,
      disabledCommands: ['AUTH'],
      // Enhanced codes are part of our reply texts, as in KumoMTA.
      hideENHANCEDSTATUSCODES: true,
      disableReverseLookup: true,
      socketTimeout: config.clientTimeoutMs,
      logger: false,
      onConnect: (session, cb) => listener.onConnect(session, cb),
      onMailFrom: (_address, session, cb) => listener.onMailFrom(session, cb),
      onRcptTo: (address, session, cb) => void listener.onRcptTo(address.address, session, cb),
      onData: (stream, session, cb) => void listener.onData(stream, session, cb),
      onClose: (session) => listener.onClose(session),
    });
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(config.listen.port, config.listen.host, () => {
        listener.server.off('error', reject);
        resolve();
      });
    });
    listener.server.on('error', (e) => deps.log.write('warn', `esmtp listener ${listener.address}: ${(e as Error).message}`));
    const a = listener.server.server.address() as { address: string; port: number };
    listener.boundAddress = formatSocketAddress(a.address, a.port);
    deps.log.write('info', `esmtp listener on ${listener.boundAddress}`);
    return listener;
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

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const reason = this.deps.health?.unavailableReason();
    const metrics = this.deps.listenerMetrics;
    if (reason || this.states.size >= this.config.maxConnections) {
      metrics.connectionsDenied.inc({ service: 'esmtp_listener' });
      const why = reason ?? 'too many concurrent sessions. Try later';
      return cb(smtpError(421, `4.3.2 ${this.config.hostname} ${why}`));
    }
    const peerIp = plainIp(session.remoteAddress);
    const localAddress = formatSocketAddress(session.localAddress, session.localPort);
    const connMeta = new ConnectionMeta(
      {
        reception_protocol: 'ESMTP',
        received_via: localAddress,
        received_from: formatSocketAddress(session.remoteAddress, session.remotePort),
        hostname: this.config.hostname,
      },
      peerIp,
    );
    this.states.set(session.id, {
      sessionId: randomUUID(),
      connMeta,
      peerIp,
      localAddress,
      ehloName: '',
      hostname: this.config.hostname,
      tls: undefined,
      acceptedRecipients: 0,
    });
    metrics.connectionCount.inc({ service: 'esmtp_listener' });
    cb();
  }

  private onClose(session: SMTPServerSession): void {
    if (this.states.delete(session.id)) this.deps.listenerMetrics.connectionCount.dec({ service: 'esmtp_listener' });
  }

  /** Brings EHLO name and TLS state (which may change with STARTTLS) into the connection meta. */
  private refresh(session: SMTPServerSession): ConnectionState | undefined {
    const s = this.states.get(session.id);
    if (!s) return undefined;
    const ehlo = typeof session.hostNameAppearsAs === 'string' ? session.hostNameAppearsAs : '';
    if (ehlo !== s.ehloName) {
      s.ehloName = ehlo;
      s.connMeta.set('ehlo_domain', ehlo);
    }
    const tls = tlsInfoOf(session);
    if (tls && !s.tls) {
      s.tls = tls;
      s.connMeta.set('tls_cipher', tls.cipher);
      s.connMeta.set('tls_protocol_version', tls.protocolVersion);
      s.connMeta.set('tls_peer_subject_name', []);
    }
    return s;
  }

  private onMailFrom(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    this.refresh(session);
    cb();
  }

  private async onRcptTo(address: string, session: SMTPServerSession, cb: (err?: Error | null) => void): Promise<void> {
    const s = this.refresh(session);
    if (!s) return cb(smtpError(421, `4.3.0 ${this.config.hostname} technical difficulties`));
    const env = session.envelope;
    const sender = env.mailFrom ? env.mailFrom.address : '';
    const lastAccepted = env.rcptTo.length > 0 ? env.rcptTo[env.rcptTo.length - 1]!.address : '';
    const refuse = async (code: number, text: string) => {
      await logRejection(this.deps.records, this.deps.listenerMetrics, s, { code, text }, `RCPT TO:<${address}>`, sender, lastAccepted).catch((e) =>
        this.deps.log.write('error', `esmtp: logging a Rejection failed: ${(e as Error).message}`),
      );
      cb(smtpError(code, text));
    };
    if (!this.config.relayHosts.contains(s.peerIp)) {
      return refuse(550, `5.7.1 relaying not permitted for ${s.connMeta.get('received_from')}`);
    }
    if (env.rcptTo.length >= this.config.maxRecipientsPerMessage) return refuse(452, '4.5.3 too many recipients');
    if (s.acceptedRecipients >= this.config.maxMessagesPerConnection) {
      return refuse(451, `4.5.3 ${this.config.hostname} too many messages on this connection`);
    }
    s.acceptedRecipients++;
    cb();
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): Promise<void> {
    const s = this.refresh(session);
    const env = session.envelope;
    let reply: SmtpReply;
    try {
      const data = await readData(stream, this.config.maxMessageSize);
      if (!s) reply = { code: 421, text: `4.3.0 ${this.config.hostname} technical difficulties`, close: true };
      else if (data === null) reply = { code: 552, text: '5.3.4 message too big', close: false };
      else {
        const sender = env.mailFrom ? env.mailFrom.address : '';
        reply = await this.reception.receive(s, sender, env.rcptTo.map((r) => r.address), data);
      }
    } catch (e) {
      this.deps.log.write('error', `esmtp reception failed: ${(e as Error).stack ?? e}`);
      reply = { code: 421, text: `4.3.0 ${this.config.hostname} technical difficulties`, close: true };
    }
    if (reply.code >= 400 && s) {
      await logRejection(this.deps.records, this.deps.listenerMetrics, s, reply, 'DATA', '', '').catch((e) =>
        this.deps.log.write('error', `esmtp: logging a Rejection failed: ${(e as Error).message}`),
      );
    }
    if (reply.code < 400) return this.finish(session, reply, () => cb(null, reply.text));
    // smtp-server writes single-line replies only: a multi-line kumo.reject text gets its
    // `<code>-` continuation lines written first, the last line goes through the callback.
    const lines = reply.text.split(/\r?\n/);
    const socket = lines.length > 1 ? this.connectionOf(session)?._socket : undefined;
    if (socket?.writable) {
      socket.write(lines.slice(0, -1).map((l) => `${reply.code}-${l}\r\n`).join(''));
      this.finish(session, reply, () => cb(smtpError(reply.code, lines[lines.length - 1]!)));
    } else {
      this.finish(session, reply, () => cb(smtpError(reply.code, lines.join(' '))));
    }
  }

  private finish(session: SMTPServerSession, reply: SmtpReply, respond: () => void): void {
    respond();
    // smtp-server closes on 421 by itself; other codes with a disconnect mode need a push.
    if (reply.close && reply.code !== 421) {
      setImmediate(() => {
        const conn = this.connectionOf(session);
        if (reply.followWith421) conn?.send(421, `${this.config.hostname} disconnecting due to previous error`);
        else conn?.close();
      });
    }
  }

  private connectionOf(session: SMTPServerSession): SmtpConnectionHandle | undefined {
    const connections = (this.server as unknown as { connections: Set<SmtpConnectionHandle> }).connections;
    for (const c of connections) if (c.id === session.id) return c;
    return undefined;
  }
}
