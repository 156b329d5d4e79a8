/**
 * What happens after DATA (engine.md §9.2 steps 3–5, lua-api-more.md §2.3,
 * §8.1): `smtp_server_data` on the whole transaction, the split into batch
 * messages, `smtp_server_message_received` for each, and only when all of
 * them passed: queue names, listener-domain relay and report handling,
 * save, Reception/Feedback/OOB records, insert.
 */
import { Message } from '../../message/message.ts';
import { newSpoolId } from '../../message/spool-id.ts';
import type { RecordSink } from '../../records/types.ts';
import { responseFromText } from '../../records/response.ts';
import type { Clock } from '../../util/clock.ts';
import type { DiagnosticLog } from '../../kumo/diagnostics.ts';
import type { MessageIntake } from '../ports.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { addSupplementalHeader, receivedHeader } from '../trace-headers.ts';
import { domainOf, relayDecision } from './listener-domain.ts';
import { classifyReport, oobEvents, type ReportOutcome } from './report-disposition.ts';
import { replyForPolicyError, technicalDifficulties, type SmtpReply, type SmtpServerEvents } from './server-events.ts';
import type { SmtpSessionState } from './session-state.ts';

export type { SmtpReply } from './server-events.ts';

export interface ReceptionDeps {
  intake: MessageIntake;
  records: RecordSink;
  events: SmtpServerEvents;
  metrics: ListenerMetrics;
  clock: Clock;
  log: DiagnosticLog;
}

export async function logRejection(
  records: RecordSink,
  metrics: ListenerMetrics,
  s: SmtpSessionState,
  reply: { code: number; text: string },
  command: string | null,
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

/**
 * data_processing_timeout (engine.md §9.1): which step the reception is in,
 * and whether the listener already answered `451 4.4.5 ... exceeded (<step>)`
 * — then nothing more is saved or queued.
 */
export class DataDeadline {
  step: 'rx' | 'resolve' | 'spool' | 'insert' = 'rx';
  expired = false;

  get reply(): SmtpReply {
    return { code: 451, text: `4.4.5 data_processing_timeout exceeded (${this.step})`, close: false };
  }
}

const RELAY_DENIED: SmtpReply = { code: 550, text: '5.7.1 relaying not permitted', close: false };

/** `batch_handling`: one message per recipient, or one per recipient domain. */
function defaultBatches(recipients: readonly string[], byDomain: boolean): string[][] {
  if (!byDomain) return recipients.map((r) => [r]);
  const groups = new Map<string, string[]>();
  for (const r of recipients) {
    const key = domainOf(r).toLowerCase();
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

export class Reception {
  constructor(private readonly deps: ReceptionDeps) {}

  private policyFailure(e: unknown, s: SmtpSessionState, event: string): SmtpReply {
    return replyForPolicyError(e, s.config.hostname, (t) => this.deps.log.write('error', t), event);
  }

  async receive(s: SmtpSessionState, sender: string, recipients: string[], data: Buffer, deadline = new DataDeadline()): Promise<SmtpReply> {
    const { events, clock } = this.deps;
    const { traceHeaders } = s.config;
    const base = new Message({ sender, recipients, meta: s.connMeta.snapshot(), data });
    let groups: string[][];
    try {
      await events.data(base, s.connMeta);
      groups = (await events.splitTransaction(base, s.connMeta)) ?? defaultBatches(base.recipients, s.config.batchByDomain);
    } catch (e) {
      return this.policyFailure(e, s, 'smtp_server_data');
    }
    if (groups.length === 0) return RELAY_DENIED;

    const messages: Message[] = [];
    const body = base.getData();
    for (const group of groups) {
      const id = newSpoolId(clock.now());
      let bytes = body;
      if (traceHeaders.receivedHeader) {
        const header = receivedHeader({
          fromName: s.ehloName,
          peerIp: s.peerIp,
          byHostname: s.config.hostname,
          protocol: s.tls ? 'ESMTPS' : 'ESMTP',
          id,
          recipient: group[0]!,
          nowMs: clock.now(),
        });
        bytes = Buffer.concat([Buffer.from(header, 'utf8'), body]);
      }
      messages.push(new Message({ id, sender: base.sender, recipients: group, meta: base.metaObject(), data: bytes }));
      this.deps.metrics.received('esmtp_listener', s.localAddress);
    }

    for (const msg of messages) {
      try {
        await events.messageReceived(msg, s.connMeta);
      } catch (e) {
        return this.policyFailure(e, s, 'smtp_server_message_received');
      }
    }

    if (deadline.expired) return deadline.reply;
    deadline.step = 'resolve';
    const queues: string[] = [];
    try {
      for (const msg of messages) queues.push(msg.queueName());
    } catch (e) {
      this.deps.log.write('error', `esmtp reception: cannot resolve queue: ${(e as Error).message}`);
      return technicalDifficulties(s.config.hostname);
    }

    const outcomes: ReportOutcome[] = [];
    try {
      for (const msg of messages) {
        const senderEntry = await s.domains.get(domainOf(msg.sender));
        const recipientEntry = await s.domains.get(domainOf(msg.recipients[0] ?? ''));
        const decision = relayDecision(s.peerIp, s.config.relayHosts.contains(s.peerIp), senderEntry, recipientEntry);
        outcomes.push(classifyReport(msg, decision));
      }
    } catch (e) {
      return this.policyFailure(e, s, 'get_listener_domain');
    }
    return this.store(s, messages, queues, outcomes, deadline);
  }

  private async store(s: SmtpSessionState, messages: Message[], queues: string[], outcomes: ReportOutcome[], deadline: DataDeadline): Promise<SmtpReply> {
    const { intake, records } = this.deps;
    const ids: string[] = [];
    let failed = 0;
    let kept = 0;
    let routedToNull = false;
    let reportSeen = false;
    const peerAddress = { name: s.ehloName, addr: s.peerIp };
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      const outcome = outcomes[i]!;
      const isNull = queues[i] === 'null';
      routedToNull ||= isNull;
      reportSeen ||= outcome.reportSeen;
      const keep = outcome.relay && !isNull;
      addSupplementalHeader(msg, s.config.traceHeaders);
      if (deadline.expired) return deadline.reply;
      deadline.step = 'spool';
      if (keep) {
        try {
          await intake.save(msg, { deferredSpool: s.config.deferredSpool });
        } catch (e) {
          this.deps.log.write('error', `esmtp reception: save failed: ${(e as Error).message}`);
          return { code: 451, text: `4.3.0 ${s.config.hostname} technical difficulties`, close: false };
        }
      }
      const common = { message: msg, peerAddress, sessionId: s.sessionId, tls: s.tls };
      const received = { code: 250, enhanced_code: null, content: '', command: null };
      if (outcome.feedback) {
        await records.log({ ...common, type: 'Feedback', response: received, feedbackReport: outcome.feedback });
      } else {
        await records.log({ ...common, type: 'Reception', response: received });
        for (const oob of oobEvents(msg, outcome, s)) await records.log(oob);
      }
      ids.push(msg.id);
      if (!keep) continue;
      kept++;
      if (deadline.expired) return deadline.reply;
      deadline.step = 'insert';
      try {
        await intake.insert(msg);
      } catch (e) {
        failed++;
        const text = `KumoMTA internal: QueueManager::insert failed during reception: ${(e as Error).message}`;
        await records.log({ type: 'Bounce', message: msg, response: { code: 500, enhanced_code: null, content: text, command: null } });
      }
    }
    if (kept === 0 && !routedToNull && !reportSeen) return RELAY_DENIED;
    if (failed > 0 && failed === kept) return technicalDifficulties(s.config.hostname);
    return { code: 250, text: `${failed > 0 ? 'PARTIAL' : 'OK'} ids=${ids.join(' ')}`, close: false };
  }
}
