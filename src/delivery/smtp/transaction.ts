/**
 * One mail transaction on an open connection (smtp-delivery.md §3.6):
 * [RSET] MAIL RCPT… DATA, pipelined when the server offers it, every command
 * sent even after a rejection, then the payload only after 354.
 */
import { ENH } from './responses.ts';
import { dotStuff, has8bit, isAscii, terminator } from './payload.ts';
import type { SmtpReply } from './reply.ts';
import { SmtpClientError, type SmtpSocket } from './socket.ts';
import type { ClientTimeouts } from '../../queue/egress-path-config.ts';

export type TransactionResult =
  | { kind: 'success'; rcpt: SmtpReply[]; final: SmtpReply }
  /** One reply answers for every recipient (RSET, MAIL, sole RCPT, DATA, final `.`, a local refusal). */
  | { kind: 'reply'; reply: SmtpReply; local?: boolean }
  | { kind: 'rcpt-list'; replies: SmtpReply[] }
  | { kind: 'transport'; error: SmtpClientError };

export interface TransactionInput {
  sender: string;
  recipients: string[];
  data: Uint8Array;
  /** RSET first (a previous transaction on this connection). */
  rset: boolean;
  extensions: ReadonlySet<string>;
  pipelining: boolean;
  ignore8bitChecks: boolean;
  timeouts: ClientTimeouts;
}

const MSG_8BIT = 'KumoMTA internal: DATA is 8bit, destination does not support 8BITMIME. Conversion via msg:check_fix_conformance during reception is required';
const MSG_UTF8 = 'KumoMTA internal: envelope is 8bit, destination does not support SMTPUTF8.';

type Step = { line: string; timeoutMs: number };
type Outcome = SmtpReply | SmtpClientError;

function isReply(o: Outcome | undefined): o is SmtpReply {
  return o !== undefined && !(o instanceof SmtpClientError);
}

async function sendAll(sock: SmtpSocket, steps: Step[], pipelining: boolean): Promise<Outcome[]> {
  const out: Outcome[] = [];
  if (pipelining) {
    const burst = steps.map((s) => s.line).join('');
    const writeMs = steps.reduce((sum, s) => sum + Math.min(s.timeoutMs, 60_000), 0);
    try {
      await sock.write(burst, writeMs, burst);
    } catch (err) {
      return steps.map(() => err as SmtpClientError);
    }
    for (const s of steps) {
      try {
        out.push(await sock.readReply(s.line, s.timeoutMs));
      } catch (err) {
        out.push(err as SmtpClientError);
      }
    }
    return out;
  }
  for (const s of steps) {
    try {
      out.push(await sock.command(s.line, s.timeoutMs));
    } catch (err) {
      out.push(err as SmtpClientError);
    }
  }
  return out;
}

export async function runTransaction(sock: SmtpSocket, tx: TransactionInput): Promise<TransactionResult> {
  const ext = tx.extensions;
  const params: string[] = [];
  if (has8bit(tx.data)) {
    if (ext.has('8BITMIME')) params.push('BODY=8BITMIME');
    else if (!tx.ignore8bitChecks) return { kind: 'reply', reply: { code: 554, enhanced: ENH(5, 6, 3), content: MSG_8BIT, command: null }, local: true };
  }
  if (!isAscii(tx.sender) || tx.recipients.some((r) => !isAscii(r))) {
    if (ext.has('SMTPUTF8')) params.push('SMTPUTF8');
    else if (!tx.ignore8bitChecks) return { kind: 'reply', reply: { code: 554, enhanced: ENH(5, 6, 7), content: MSG_UTF8, command: null }, local: true };
  }
  const t = tx.timeouts;
  const steps: Step[] = [];
  if (tx.rset) steps.push({ line: 'RSET\r\n', timeoutMs: t.rsetTimeoutMs });
  steps.push({ line: `MAIL FROM:<${tx.sender}>${params.map((p) => ` ${p}`).join('')}\r\n`, timeoutMs: t.mailFromTimeoutMs });
  for (const r of tx.recipients) steps.push({ line: `RCPT TO:<${r}>\r\n`, timeoutMs: t.rcptToTimeoutMs });
  steps.push({ line: 'DATA\r\n', timeoutMs: t.dataTimeoutMs });
  const results = await sendAll(sock, steps, tx.pipelining && ext.has('PIPELINING'));

  const transportErr = results.find((r): r is SmtpClientError => r instanceof SmtpClientError);
  const err = transportErr !== undefined;
  let i = 0;
  if (tx.rset) {
    const rset = results[i++];
    if (!isReply(rset)) return { kind: 'transport', error: rset as SmtpClientError };
    if (rset.code !== 250) return { kind: 'reply', reply: rset };
  }
  const mail = results[i++];
  if (!isReply(mail)) return { kind: 'transport', error: mail as SmtpClientError };
  if (err && mail.code !== 250) return { kind: 'reply', reply: mail };
  const rcpts: SmtpReply[] = [];
  for (let k = 0; k < tx.recipients.length; k++) {
    const r = results[i++];
    if (!isReply(r)) return { kind: 'transport', error: r as SmtpClientError };
    rcpts.push(r);
  }
  const anyRcptOk = rcpts.some((r) => r.code === 250);
  const rcptFailure = (): TransactionResult => (rcpts.length === 1 ? { kind: 'reply', reply: rcpts[0]! } : { kind: 'rcpt-list', replies: rcpts });
  if (err && !anyRcptOk) return rcptFailure();
  const data = results[i++];
  if (!isReply(data)) return { kind: 'transport', error: data as SmtpClientError };
  if (err && data.code !== 354) return { kind: 'reply', reply: data };
  if (data.code === 354 && (mail.code !== 250 || !anyRcptOk)) {
    // RFC 2920 §3.1: the server wants data nobody will get; end it empty.
    try {
      await sock.write('.\r\n', Math.min(t.dataTimeoutMs, 60_000), '.\r\n');
      await sock.readReply('.\r\n', t.dataDotTimeoutMs);
    } catch {
      // the rejection below is what gets reported
    }
  }
  if (mail.code !== 250) return { kind: 'reply', reply: mail };
  if (!anyRcptOk) return rcptFailure();
  if (data.code !== 354) return { kind: 'reply', reply: data };
  const payloadMs = Math.min(t.dataTimeoutMs, 60_000);
  try {
    await sock.write(dotStuff(tx.data), payloadMs, 'message payload');
    await sock.write(terminator(tx.data), payloadMs, 'message payload');
  } catch (e) {
    const error = e as SmtpClientError;
    if (error.kind === 'write-timeout') return { kind: 'transport', error: new SmtpClientError('io', 'Timed Out sending message payload data', null) };
    return { kind: 'transport', error };
  }
  let final: SmtpReply;
  try {
    final = await sock.readReply('.\r\n', t.dataDotTimeoutMs);
  } catch (e) {
    return { kind: 'transport', error: e as SmtpClientError };
  }
  if (final.code !== 250) return { kind: 'reply', reply: final };
  return { kind: 'success', rcpt: rcpts, final };
}
