import type { Message } from '../message/message.ts';
import type { EnhancedCode, RecordEvent, RecordResponse } from '../records/types.ts';
import { formatHumantime } from '../util/duration.ts';
import type { InsertContext } from './insert-context.ts';

/** RecordEvents raised by the scheduled-queue side of the engine. */

export function response(code: number, enhanced: EnhancedCode | null, content: string): RecordResponse {
  return { code, enhanced_code: enhanced, content, command: null };
}

export const ENH_4_4_4: EnhancedCode = { class: 4, subject: 4, detail: 4 };
export const ENH_4_4_1: EnhancedCode = { class: 4, subject: 4, detail: 1 };
export const ENH_5_4_7: EnhancedCode = { class: 5, subject: 4, detail: 7 };
export const ENH_5_7_1: EnhancedCode = { class: 5, subject: 7, detail: 1 };
export const ENH_5_1_3: EnhancedCode = { class: 5, subject: 1, detail: 3 };

/** chrono's Debug rendering of a UTC instant, e.g. `2026-01-01T00:20:00Z`. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function delayedEvent(msg: Message, ctx: InsertContext, nowMs: number): RecordEvent {
  const due = msg.due ?? nowMs;
  return {
    type: 'Delayed',
    message: msg,
    response: response(400, null, `Context: ${ctx}. Next due in ${formatHumantime(Math.max(0, due - nowMs))} at ${formatInstant(due)}`),
    site: '',
  };
}

export function expirationEvent(msg: Message, text: string, site: string, egressPool: string | null, providerName: string | null, enhanced: EnhancedCode = ENH_5_4_7): RecordEvent {
  const ev: RecordEvent = { type: 'Expiration', message: msg, response: response(551, enhanced, text), site, egressPool, egressSource: null };
  if (providerName !== null) ev.providerName = providerName;
  return ev;
}

export function adminBounceEvent(msg: Message, reason: string): RecordEvent {
  return {
    type: 'AdminBounce',
    message: msg,
    response: response(551, ENH_5_7_1, `Administrator bounced with reason: ${reason}`),
    site: 'localhost',
    egressPool: null,
    egressSource: null,
    deliveryProtocol: null,
  };
}

export function suspendedEvent(msg: Message, reason: string, site: string, sessionId?: string): RecordEvent {
  const ev: RecordEvent = {
    type: 'TransientFailure',
    message: msg,
    response: response(451, ENH_4_4_4, `KumoMTA internal: scheduled queue is suspended: ${reason}`),
    site,
  };
  if (sessionId) ev.sessionId = sessionId;
  return ev;
}

/** `<code> [<c.s.d> ]<content with CR/LF as spaces>` as given to the requeue_message event. */
export function responseLine(r: RecordResponse): string {
  const enh = r.enhanced_code ? `${r.enhanced_code.class}.${r.enhanced_code.subject}.${r.enhanced_code.detail} ` : '';
  return `${r.code} ${enh}${r.content.replace(/\r\n|\r|\n/g, ' ')}`;
}
