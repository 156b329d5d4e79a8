/**
 * Listener-domain report handling after DATA (lua-api-more.md §2.3 step 1,
 * log-record.md §5 OOB/Feedback): whether a received message is an ARF
 * report or a DSN the domain logs, whether it is still relayed, and the OOB
 * records a DSN produces.
 */
import type { Message } from '../../message/message.ts';
import { parseRfc3464, parseRfc5965 } from '../../message/report-parsing.ts';
import type { EnhancedCode, RecordEvent } from '../../records/types.ts';
import { isJsonObject, type JsonObject } from '../../util/json.ts';
import type { RelayDecision } from './listener-domain.ts';
import type { SmtpSessionState } from './session-state.ts';

export interface ReportOutcome {
  /** Spool and queue this message (unless its queue is `null`). */
  relay: boolean;
  /** It was a report a log_arf/log_oob setting asked for. */
  reportSeen: boolean;
  /** ARF report: log Feedback instead of Reception. */
  feedback: JsonObject | null;
  /** DSN to log as OOB records. */
  dsn: JsonObject | null;
}

/** A report that does not parse is treated as ordinary mail. */
function quietly(parse: (data: Uint8Array) => JsonObject | null, msg: Message): JsonObject | null {
  try {
    return parse(msg.getData());
  } catch {
    return null;
  }
}

export function classifyReport(msg: Message, d: RelayDecision): ReportOutcome {
  if (d.logArf !== 'Ignore') {
    const feedback = quietly(parseRfc5965, msg);
    if (feedback) return { relay: d.logArf === 'LogThenRelay', reportSeen: true, feedback, dsn: null };
  }
  if (d.logOob !== 'Ignore') {
    const dsn = quietly(parseRfc3464, msg);
    if (dsn) return { relay: d.logOob === 'LogThenRelay', reportSeen: true, feedback: null, dsn };
  }
  return { relay: d.relay, reportSeen: false, feedback: null, dsn: null };
}

function str(o: JsonObject | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

function obj(o: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = o?.[key];
  return isJsonObject(v) && !Array.isArray(v) ? v : undefined;
}

/** `smtp; 550 text` ⇒ 550 and "text"; anything else ⇒ 550 and "". */
function diagnosticResponse(diag: JsonObject | undefined): { code: number; content: string } {
  if (str(diag, 'diagnostic_type')?.toLowerCase() !== 'smtp') return { code: 550, content: '' };
  const m = /^(\d{3})(?:[ -](.*))?$/s.exec(str(diag, 'diagnostic') ?? '');
  return m ? { code: Number(m[1]), content: m[2] ?? '' } : { code: 550, content: str(diag, 'diagnostic') ?? '' };
}

/** One OOB record per `failed` recipient of the DSN. */
export function oobEvents(msg: Message, outcome: ReportOutcome, s: SmtpSessionState): RecordEvent[] {
  const dsn = outcome.dsn;
  if (!dsn) return [];
  const perMessage = obj(dsn, 'per_message');
  const reportingMta = str(obj(perMessage, 'reporting_mta'), 'name') ?? '';
  const recipients = Array.isArray(dsn.per_recipient) ? dsn.per_recipient : [];
  const events: RecordEvent[] = [];
  for (const r of recipients) {
    if (!isJsonObject(r) || Array.isArray(r) || r.action !== 'failed') continue;
    const reported = str(obj(r, 'original_recipient'), 'recipient') ?? str(obj(r, 'final_recipient'), 'recipient') ?? '';
    const status = obj(r, 'status');
    const enhanced: EnhancedCode | null = status
      ? { class: Number(status.class), subject: Number(status.subject), detail: Number(status.detail) }
      : null;
    const { code, content } = diagnosticResponse(obj(r, 'diagnostic_code'));
    const lastAttempt = str(r, 'last_attempt_date');
    events.push({
      type: 'OOB',
      message: msg,
      response: { code, enhanced_code: enhanced, content, command: null },
      peerAddress: { name: reportingMta, addr: s.peerIp },
      sessionId: s.sessionId,
      timestampMs: lastAttempt ? Date.parse(lastAttempt) : undefined,
      oob: { sender: msg.recipients[0] ?? '', recipient: reported },
    });
  }
  return events;
}
