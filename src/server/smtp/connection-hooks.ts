/**
 * What smtp-server's option hooks cannot express, done through the methods
 * of each SMTPConnection instance (the library looks up `handler_<VERB>`,
 * `send`, `_onCommand` and `_sendGreeting` on the instance, so per-instance
 * replacements take effect without forking it):
 *
 * - every reply passes `smtp_server_rewrite_response` and produces the
 *   Rejection record for 4xx/5xx (lua-api-more.md §8.1 step 5, engine §9.4);
 *   multi-line texts become multi-line replies;
 * - EHLO/HELO fire `smtp_server_ehlo` and advertise KumoMTA's extension list
 *   (which the handler may replace);
 * - AUTH PLAIN fires `smtp_server_auth_plain` with KumoMTA's reply codes;
 * - the greeting is `220 <hostname> <banner>` with the session's hostname.
 *
 * The rewrite event is async while smtp-server's `send` is not: when the
 * event is registered, replies are queued in order, and `close`/`upgrade`
 * wait for the queue, so nothing overtakes a reply that is still in Lua.
 */
import type { SMTPServerSession } from 'smtp-server';
import type { SmtpSessionState } from './session-state.ts';
import type { EsmtpSessionConfig } from './config.ts';
import { XCLIENT_ATTRIBUTES, xclient } from './xclient.ts';
import { replyForPolicyError, type SmtpReply, type SmtpServerEvents } from './server-events.ts';

type Callback = () => void;

/** smtp-server's reply when client_timeout passes; sent as KumoMTA's `421 4.3.2 <hostname> idle too long`. */
const SMTP_SERVER_IDLE_TEXT = 'Timeout - closing connection';
type Handler = (command: Buffer, callback: Callback) => void;

/** The parts of smtp-server's SMTPConnection these hooks use. */
export interface SmtpConnectionInternals {
  id: string;
  session: SMTPServerSession;
  secure: boolean;
  hostNameAppearsAs: string | false;
  openingCommand: string | false;
  _nextHandler: Handler | false;
  send(code: number, data?: string | string[], context?: unknown): void;
  close(): void;
  upgrade(...args: unknown[]): void;
  _resetSession(): void;
  _onCommand(command: Buffer, callback?: Callback): void;
  _sendGreeting(): void;
  handler_EHLO: Handler;
  handler_HELO: Handler;
  handler_AUTH: Handler;
  handler_XCLIENT: Handler;
}

export interface ConnectionHookDeps {
  events: SmtpServerEvents;
  stateOf(id: string): SmtpSessionState | undefined;
  /** Called for every 4xx/5xx reply actually sent (after rewriting). */
  onRejection(s: SmtpSessionState, reply: { code: number; text: string }, command: string | null, sender: string, recipient: string): void;
  log(text: string): void;
  /** Re-evaluates the session's options after XCLIENT changed its addresses. */
  readdress(s: SmtpSessionState): Promise<void>;
}

/** The transaction as a Rejection record shows it: after DATA it has been consumed. */
function transactionOf(conn: SmtpConnectionInternals, afterData: boolean): { sender: string; recipient: string } {
  const env = conn.session.envelope;
  if (afterData || !env) return { sender: '', recipient: '' };
  const sender = env.mailFrom ? env.mailFrom.address : '';
  const last = env.rcptTo.length > 0 ? env.rcptTo[env.rcptTo.length - 1]!.address : '';
  return { sender, recipient: last };
}

/** `AUTH PLAIN <base64>` carries the password: records and events see `AUTH PLAIN` only. */
function withoutCredentials(line: string): string {
  return /^AUTH\s/i.test(line) ? line.split(/\s+/).slice(0, 2).join(' ') : line;
}

export function installConnectionHooks(conn: SmtpConnectionInternals, deps: ConnectionHookDeps): void {
  const { events } = deps;
  const rawSend = conn.send.bind(conn);
  const rawClose = conn.close.bind(conn);
  const rawUpgrade = conn.upgrade.bind(conn);
  const rawOnCommand = conn._onCommand.bind(conn);
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;

  const deliver = (s: SmtpSessionState | undefined, code: number, text: string, command: string | null, afterData: boolean, context: unknown) => {
    if (s && code >= 400) {
      const t = transactionOf(conn, afterData);
      deps.onRejection(s, { code, text }, command, t.sender, t.recipient);
    }
    const lines = text.split(/\r?\n/);
    rawSend(code, lines.length > 1 ? lines : lines[0], context);
  };

  conn.send = (code, data, context) => {
    const s = deps.stateOf(conn.id);
    let text = Array.isArray(data) ? data.join('\n') : String(data ?? '');
    const afterData = s?.afterData ?? false;
    const command = afterData ? 'DATA' : s?.command ?? null;
    const recorded = s?.recordCommand ?? command;
    if (s) s.recordCommand = null;
    const idle = code === 421 && text === SMTP_SERVER_IDLE_TEXT;
    if (idle && s) text = `4.3.2 ${s.config.hostname} idle too long`;
    if (!s || !events.has('smtp_server_rewrite_response')) return deliver(s, code, text, recorded, afterData, context);
    queued++;
    const shown = code >= 400 || afterData ? command : null;
    queue = queue
      .then(async () => {
        let reply = { code, text };
        try {
          reply = await events.rewriteResponse(code, text, shown, s.connMeta);
        } catch (e) {
          deps.log(`smtp_server_rewrite_response: ${(e as Error).message}`);
        }
        deliver(s, reply.code, reply.text, recorded, afterData, context);
      })
      .finally(() => queued--);
  };
  const afterReplies = (f: () => void) => (queued > 0 ? void queue.then(f) : f());
  conn.close = () => afterReplies(rawClose);
  conn.upgrade = (...args) => afterReplies(() => rawUpgrade(...args));

  conn._onCommand = (command, callback) => {
    const s = deps.stateOf(conn.id);
    if (s && !conn._nextHandler) s.command = withoutCredentials(command.toString().replace(/\r?\n$/, ''));
    rawOnCommand(command, () => {
      if (s) s.command = null;
      callback?.();
    });
  };

  conn._sendGreeting = () => {
    const s = deps.stateOf(conn.id);
    if (s) conn.send(220, `${s.config.hostname} ${s.config.banner}`, false);
  };

  /** Sends a policy reply; disconnect modes other than 421 close after it. */
  const policyReply = (reply: SmtpReply) => {
    const s = deps.stateOf(conn.id);
    if (s && reply.recordCommand) s.recordCommand = reply.recordCommand;
    conn.send(reply.code, reply.text);
    if (reply.close && reply.code !== 421) {
      if (reply.followWith421) conn.send(421, `${deps.stateOf(conn.id)?.config.hostname ?? ''} disconnecting due to previous error`);
      else conn.close();
    }
  };
  const failure = (e: unknown, event: string) =>
    policyReply(replyForPolicyError(e, deps.stateOf(conn.id)?.config.hostname ?? '', deps.log, event));

  const greet = (verb: 'EHLO' | 'HELO') => (command: Buffer, callback: Callback) => {
    const s = deps.stateOf(conn.id);
    const parts = command.toString().trim().split(/\s+/);
    if (!s || parts.length !== 2) {
      conn.send(501, `5.5.4 syntax: ${verb} hostname`);
      return callback();
    }
    const domain = parts[1]!;
    const defaults = defaultExtensions(conn.secure, s.config);
    events
      .ehlo(domain, s.connMeta, verb === 'EHLO' ? defaults : undefined)
      .then((extensions) => {
        conn.hostNameAppearsAs = domain;
        conn.openingCommand = verb;
        conn._resetSession();
        s.ehloName = domain;
        s.connMeta.set('ehlo_domain', domain);
        const greeting = `${s.config.hostname} Aloha ${domain}`;
        conn.send(250, verb === 'EHLO' ? [greeting, ...(extensions ?? defaults)] : greeting);
      }, (e) => failure(e, 'smtp_server_ehlo'))
      .finally(callback);
  };
  conn.handler_EHLO = greet('EHLO');
  conn.handler_HELO = greet('HELO');
  conn.handler_AUTH = (command, callback) => authPlain(conn, deps, command, callback, failure);
  conn.handler_XCLIENT = (command, callback) => xclient(conn, deps, command, callback, failure);
}

/** KumoMTA's EHLO extensions, plus SIZE (kumo-lua advertises its max_message_size). */
export function defaultExtensions(secure: boolean, config: EsmtpSessionConfig): string[] {
  const list = ['PIPELINING', 'ENHANCEDSTATUSCODES', '8BITMIME', 'SMTPUTF8', `SIZE ${config.maxMessageSize}`];
  if (!secure) list.push('STARTTLS');
  if (secure || config.allowPlaintextAuth) list.push('AUTH PLAIN');
  if (config.allowXclient) list.push(`XCLIENT ${XCLIENT_ATTRIBUTES.join(' ')}`);
  return list;
}

function authPlain(
  conn: SmtpConnectionInternals,
  deps: ConnectionHookDeps,
  command: Buffer,
  callback: Callback,
  failure: (e: unknown, event: string) => void,
): void {
  const s = deps.stateOf(conn.id);
  const args = command.toString().trim().split(/\s+/).slice(1);
  const mechanism = (args[0] ?? '').toUpperCase();
  if (!s) return callback();
  if (!conn.secure && !s.config.allowPlaintextAuth) {
    conn.send(524, '5.7.11 Encryption required for requested authentication mechanism');
    return callback();
  }
  if (s.authenticated) {
    conn.send(503, '5.5.1 AUTH may only be used once per session');
    return callback();
  }
  if (conn.session.envelope?.mailFrom) {
    conn.send(503, '5.5.1 AUTH not permitted inside a transaction');
    return callback();
  }
  if (mechanism !== 'PLAIN') {
    conn.send(504, `5.5.4 AUTH ${mechanism} not supported`);
    return callback();
  }
  const verify = (blob: string, done: Callback) => {
    const fields = Buffer.from(blob.trim(), 'base64').toString('utf8').split('\0');
    if (blob.trim() === '*' || fields.length !== 3) {
      conn.send(501, '5.5.2 Invalid decoded PLAIN response');
      return done();
    }
    const [authzGiven, authc, password] = fields as [string, string, string];
    const authz = authzGiven === '' ? authc : authzGiven;
    deps.events
      .authPlain(authz, authc, password, s.connMeta)
      .then((outcome) => {
        if (!outcome.ok) return conn.send(535, '5.7.8 AUTH invalid');
        s.authenticated = true;
        s.connMeta.set('authz_id', outcome.authz);
        s.connMeta.set('authn_id', outcome.authn);
        const identities = s.connMeta.authInfo.identities;
        if (Array.isArray(identities)) identities.push(...outcome.identities);
        conn.session.user = outcome.authn;
        conn.send(235, '2.7.0 Authentication successful');
      }, (e) => failure(e, 'smtp_server_auth_plain'))
      .finally(done);
  };
  if (args.length > 1) return verify(args[1]!, callback);
  conn.send(334, '');
  conn._nextHandler = (line, next) => verify(line.toString(), next);
  callback();
}
