/**
 * What happens after DATA (engine.md §9.2 steps 3–5): one message per
 * recipient, `smtp_server_message_received` for each, and only when all of
 * them passed: queue names, save, Reception record, insert.
 */
import { Message } from '../../message/message.ts';
import { newSpoolId } from '../../message/spool-id.ts';
import { LuaError } from '../../lua/errors.ts';
import { asRejection } from '../../kumo/reject.ts';
import type { RecordSink, TlsInfo } from '../../records/types.ts';
import { responseFromText } from '../../records/response.ts';
import type { Clock } from '../../util/clock.ts';
import type { DiagnosticLog } from '../../kumo/diagnostics.ts';
import type { MessageIntake } from '../ports.ts';
import type { ListenerPolicy } from '../policy-events.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { addSupplementalHeader, receivedHeader, type TraceHeaderOptions } from '../trace-headers.ts';
import type { ConnectionMeta } from './conn-meta.ts';

export interface SmtpReply {
  code: number;
  text: string;
  /** Close the connection after replying. */
  close: boolean;
  /** kumo.disconnect(..., 'FollowWith421'): send `421 <hostname> disconnecting due to previous error` first. */
  followWith421?: boolean;
}

/** Per-connection state the reception needs. */
export interface SmtpSessionState {
  sessionId: string;
  connMeta: ConnectionMeta;
  peerIp: string;
  /** "ip:port" of the listener socket. */
  localAddress: string;
  ehloName: string;
  hostname: string;
  tls: TlsInfo | undefined;
}

export interface ReceptionDeps {
  intake: MessageIntake;
  records: RecordSink;
  policy: ListenerPolicy;
  metrics: ListenerMetrics;
  clock: Clock;
  log: DiagnosticLog;
  deferredSpool: boolean;
  traceHeaders: TraceHeaderOptions;
}

export async function logRejection(
  records: RecordSink,
  metrics: ListenerMetrics,
  s: SmtpSessionState,
  reply: { code: number; text: string },
  command: string,
  sender: string,
  recipient: string,
): Promise<void> {
  if (reply.code < 400 || reply.code > 599) return;
  if (reply.code === 421 && reply.text.startsWith('4.3.2 ')) return;
  metrics.rejection(s.localAddress);
  await records.log({
    type: 'Rejection',
    message: null,
    response: responseFromText(reply.code, reply.text, command),
    peerAddress: { name: s.ehloName, addr: s.peerIp },
    sessionId: s.sessionId,
    tls: s.tls,
    rejection: { sender, recipient, connMeta: s.connMeta.snapshot() },
  });
}

function technicalDifficulties(hostname: string): SmtpReply {
  return { code: 421, text: `4.3.0 ${hostname} technical difficulties`, close: true };
}

export class Reception {
  constructor(private readonly deps: ReceptionDeps) {}

  async receive(s: SmtpSessionState, sender: string, recipients: string[], data: Buffer): Promise<SmtpReply> {
    const { policy, clock, traceHeaders } = this.deps;
    const messages: Message[] = [];
    for (const rcpt of recipients) {
      const id = newSpoolId(clock.now());
      let body = data;
      if (traceHeaders.receivedHeader) {
        const header = receivedHeader({
          fromName: s.ehloName,
          peerIp: s.peerIp,
          byHostname: s.hostname,
          protocol: s.tls ? 'ESMTPS' : 'ESMTP',
          id,
          recipient: rcpt,
          nowMs: clock.now(),
        });
        body = Buffer.concat([Buffer.from(header, 'utf8'), data]);
      }
      messages.push(new Message({ id, sender, recipients: [rcpt], meta: s.connMeta.snapshot(), data: body }));
      this.deps.metrics.received('esmtp_listener', s.localAddress);
    }

    for (const msg of messages) {
      try {
        await policy.smtpMessageReceived(msg, s.connMeta);
      } catch (e) {
        const rejection = asRejection(e instanceof LuaError ? e.payload : e);
        if (rejection) {
          const close = rejection.mode === 'ForceDisconnect' || rejection.mode === 'FollowWith421' || rejection.code === 421;
          return { code: rejection.code, text: rejection.text, close, followWith421: rejection.mode === 'FollowWith421' && rejection.code !== 421 };
        }
        this.deps.log.write('error', `smtp_server_message_received: ${e instanceof LuaError ? e.describe() : (e as Error).message}`);
        return technicalDifficulties(s.hostname);
      }
    }

    const queues: string[] = [];
    try {
      for (const msg of messages) queues.push(msg.queueName());
    } catch (e) {
      this.deps.log.write('error', `esmtp reception: cannot resolve queue: ${(e as Error).message}`);
      return technicalDifficulties(s.hostname);
    }

    return this.store(s, messages, queues);
  }

  private async store(s: SmtpSessionState, messages: Message[], queues: string[]): Promise<SmtpReply> {
    const { intake, records } = this.deps;
    const ids: string[] = [];
    let failed = 0;
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      const isNull = queues[i] === 'null';
      addSupplementalHeader(msg, this.deps.traceHeaders);
      if (!isNull) {
        try {
          await intake.save(msg, { deferredSpool: this.deps.deferredSpool });
        } catch (e) {
          this.deps.log.write('error', `esmtp reception: save failed: ${(e as Error).message}`);
          return { code: 451, text: `4.3.0 ${s.hostname} technical difficulties`, close: false };
        }
      }
      await records.log({
        type: 'Reception',
        message: msg,
        response: { code: 250, enhanced_code: null, content: '', command: null },
        peerAddress: { name: s.ehloName, addr: s.peerIp },
        sessionId: s.sessionId,
        tls: s.tls,
      });
      ids.push(msg.id);
      if (isNull) continue;
      try {
        await intake.insert(msg);
      } catch (e) {
        failed++;
        const text = `KumoMTA internal: QueueManager::insert failed during reception: ${(e as Error).message}`;
        await records.log({ type: 'Bounce', message: msg, response: { code: 500, enhanced_code: null, content: text, command: null } });
      }
    }
    if (failed > 0 && failed === messages.length) return technicalDifficulties(s.hostname);
    return { code: 250, text: `${failed > 0 ? 'PARTIAL' : 'OK'} ids=${ids.join(' ')}`, close: false };
  }
}
