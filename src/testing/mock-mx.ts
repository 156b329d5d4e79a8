/**
 * A scriptable MX on 127.0.0.1 (smtp-server underneath) for policy tests
 * and kumo-lua's own tests: accepts, defers or rejects by sender, recipient
 * or at the end of DATA, offers or hides STARTTLS (self-signed) and the
 * other extensions, checks AUTH PLAIN, hangs up with 421 when told to, and
 * records every transaction (envelope, bytes, TLS) and connection.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { selfSignedFor } from '../server/tls.ts';

export interface MxReply {
  /** 0 = never answer (a hung server, for timeout tests). */
  code: number;
  /** Reply text; may start with an enhanced code (`4.2.1 mailbox busy`). */
  text: string;
}

export interface MxTransaction {
  sender: string;
  recipients: string[];
  /** Recipients refused at RCPT, with the code. */
  refused: { recipient: string; code: number }[];
  /** The message as received (dot-stuffing undone). */
  data: Buffer;
  tls: boolean;
  /** MAIL FROM parameters, e.g. `{ BODY: '8BITMIME' }`. */
  mailParams: Record<string, string | boolean>;
  user: string | null;
  /** The reply the MX gave to the final `.`. */
  finalCode: number;
  connection: number;
}

export interface MockMxOptions {
  starttls?: boolean;
  pipelining?: boolean;
  eightBitMime?: boolean;
  smtpUtf8?: boolean;
  /** Ask STARTTLS clients for a certificate (any is accepted; its subject is recorded). */
  requestClientCert?: boolean;
  /** Require AUTH PLAIN with these credentials (AUTH is allowed without TLS). */
  auth?: { username: string; password: string };
  hostname?: string;
}

export type MailRule = (sender: string) => MxReply | null | undefined;
export type RcptRule = (recipient: string, sender: string) => MxReply | null | undefined;
export type DataRule = (tx: { sender: string; recipients: string[]; data: Buffer }) => MxReply | null | undefined;

/**
 * Local parts steer the default replies, as KumoMTA's test sink does:
 * `tempfail` → 451, `permfail` → 550, `421-...` → 421 and hang-up.
 */
export const defaultRcptRule: RcptRule = (rcpt) => {
  const local = rcpt.slice(0, rcpt.lastIndexOf('@')).toLowerCase();
  if (local.startsWith('421-')) return { code: 421, text: '4.3.2 closing connection' };
  if (local.includes('tempfail')) return { code: 451, text: '4.2.1 try again later' };
  if (local.includes('permfail')) return { code: 550, text: '5.1.1 no such user' };
  return null;
};

function rejection(r: MxReply): Error & { responseCode: number } {
  return Object.assign(new Error(r.text), { responseCode: r.code });
}

export class MockMx {
  readonly transactions: MxTransaction[] = [];
  /** One entry per accepted TCP connection: whether it upgraded to TLS and who it said it was. */
  readonly connections: { remote: string | null; tls: boolean; ehlo: string | null; servername: string | null; cipher: string | null; protocol: string | null; clientSubject: string | null }[] = [];
  /** Most connections open at the same time. */
  maxConcurrent = 0;
  private open = 0;
  onMail: MailRule = () => null;
  onRcpt: RcptRule = defaultRcptRule;
  onData: DataRule = () => null;
  private server: SMTPServer | null = null;
  private refused = new Map<string, { recipient: string; code: number }[]>();
  port = 0;

  constructor(private readonly options: MockMxOptions = {}) {}

  /** `127.0.0.1:<port>`, for an `mx_list`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const o = this.options;
    const hostname = o.hostname ?? 'mx.kumo-lua.test';
    const tls = o.starttls === false ? {} : await selfSignedFor(hostname);
    const connectionIndex = (s: SMTPServerSession) => Number((s as unknown as { kumoIndex: number }).kumoIndex);
    this.server = new SMTPServer({
      ...tls,
      name: hostname,
      secure: false,
      ...(o.requestClientCert ? { requestCert: true, rejectUnauthorized: false } : {}),
      logger: false,
      hideSTARTTLS: o.starttls === false,
      hidePIPELINING: o.pipelining === false,
      hide8BITMIME: o.eightBitMime === false,
      hideSMTPUTF8: o.smtpUtf8 === false,
      // Our reply texts carry their own enhanced codes; smtp-server would add a second one.
      hideENHANCEDSTATUSCODES: true,
      hideSize: true,
      authMethods: ['PLAIN'],
      authOptional: !o.auth,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      onConnect: (session, cb) => {
        (session as unknown as { kumoIndex: number }).kumoIndex = this.connections.length;
        this.connections.push({ remote: session.remoteAddress ? `${session.remoteAddress}:${session.remotePort}` : null, tls: false, ehlo: null, servername: null, cipher: null, protocol: null, clientSubject: null });
        this.maxConcurrent = Math.max(this.maxConcurrent, ++this.open);
        cb();
      },
      onClose: () => {
        this.open--;
      },
      onSecure: (_socket, session, cb) => {
        const c = this.connections[connectionIndex(session)]!;
        c.tls = true;
        c.servername = typeof session.servername === 'string' ? session.servername : null;
        const socket = _socket as import('node:tls').TLSSocket;
        c.cipher = socket.getCipher?.()?.standardName ?? null;
        c.protocol = socket.getProtocol?.() ?? null;
        c.clientSubject = socket.getPeerX509Certificate?.()?.subject ?? null;
        cb();
      },
      onAuth: (auth, _session, cb) => {
        if (o.auth && auth.username === o.auth.username && auth.password === o.auth.password) return cb(null, { user: auth.username });
        return cb(rejection({ code: 535, text: '5.7.8 authentication failed' }));
      },
      onMailFrom: (address, session, cb) => {
        this.connections[connectionIndex(session)]!.ehlo = session.hostNameAppearsAs || null;
        this.refused.set(session.id, []);
        const r = this.onMail(address.address);
        cb(r && r.code >= 400 ? rejection(r) : null);
      },
      onRcptTo: (address, session, cb) => {
        const r = this.onRcpt(address.address, session.envelope.mailFrom ? session.envelope.mailFrom.address : '');
        if (r && r.code >= 400) {
          this.refused.get(session.id)?.push({ recipient: address.address, code: r.code });
          return cb(rejection(r));
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const env = session.envelope;
          const sender = env.mailFrom ? env.mailFrom.address : '';
          const recipients = env.rcptTo.map((r) => r.address);
          const data = Buffer.concat(chunks);
          const r = this.onData({ sender, recipients, data });
          this.transactions.push({
            sender, recipients, refused: this.refused.get(session.id) ?? [], data, tls: session.secure,
            mailParams: (env.mailFrom && env.mailFrom.args) || {}, user: (session.user as string | undefined) ?? null,
            finalCode: r && r.code >= 400 ? r.code : 250, connection: connectionIndex(session),
          });
          if (r && r.code === 0) return;
          if (r && r.code >= 400) return cb(rejection(r));
          cb(null, r?.text ?? '2.0.0 OK queued');
        });
      },
    });
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** Transactions whose final reply was 250. */
  delivered(): MxTransaction[] {
    return this.transactions.filter((t) => t.finalCode === 250);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
