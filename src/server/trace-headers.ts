/**
 * The `Received:` header and the supplemental `X-KumoRef` header that both
 * listeners may prepend to received messages.
 */
import type { Message } from '../message/message.ts';
import type { JsonValue } from '../util/json.ts';

export interface TraceHeaderOptions {
  receivedHeader: boolean;
  supplementalHeader: boolean;
  headerName: string;
  includeMetaNames: string[];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 2822 date in UTC, e.g. `Thu, 01 Jan 2026 00:00:00 +0000`. */
export function rfc2822Date(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

export interface ReceivedInfo {
  /** What follows `from`: the EHLO name (SMTP) or the sender's domain (HTTP). */
  fromName: string;
  peerIp: string;
  byHostname: string;
  /** `ESMTP`, `ESMTPS`, `HTTP`. */
  protocol: string;
  id: string;
  recipient: string;
  nowMs: number;
}

export function receivedHeader(i: ReceivedInfo): string {
  return (
    `Received: from ${i.fromName} (${i.peerIp})\r\n` +
    `  by ${i.byHostname} (KumoMTA)\r\n` +
    `  with ${i.protocol} id ${i.id} for <${i.recipient}>;\r\n` +
    `  ${rfc2822Date(i.nowMs)}\r\n`
  );
}

export function prependText(msg: Message, text: string): void {
  const data = msg.getData();
  msg.setData(Buffer.concat([Buffer.from(text, 'utf8'), data]));
}

/** `X-KumoRef: base64({"_@_":"\\_/","recipient":...,<meta names>})`, prepended. */
export function addSupplementalHeader(msg: Message, opts: TraceHeaderOptions): void {
  if (!opts.supplementalHeader) return;
  const payload: Record<string, JsonValue> = { '_@_': '\\_/', recipient: msg.recipients[0] ?? '' };
  for (const name of opts.includeMetaNames) {
    const v = msg.getMeta(name);
    if (v !== undefined && v !== null) payload[name] = v;
  }
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
  prependText(msg, `${opts.headerName}: ${encoded}\r\n`);
}
