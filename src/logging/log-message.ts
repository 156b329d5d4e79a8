import { parseEnvelopeAddress } from '../message/address.ts';
import { Message } from '../message/message.ts';
import { type LogRecord, recordAsJson } from '../records/log-record.ts';
import type { JsonObject } from '../util/json.ts';

/**
 * The Message a log hook generates for one record (lua-api.md §5.3): a fresh
 * id, the record's envelope, the hook's captured meta plus `log_record` and
 * `reception_protocol = "LogRecord"`, and the rendered body.
 */
export function makeLogMessage(record: LogRecord, body: string, nowMs: number): Message {
  const sender = parseEnvelopeAddress(record.sender).email;
  const list = typeof record.recipient === 'string' ? [record.recipient] : record.recipient;
  const recipients = list.map((r) => parseEnvelopeAddress(r).email);
  if (recipients.length === 0) throw new Error('log record has no recipients');
  const meta: JsonObject = { ...record.meta };
  meta.log_record = recordAsJson(record);
  meta.reception_protocol = 'LogRecord';
  return new Message({ sender, recipients, meta, data: Buffer.from(body, 'utf8'), createdMs: nowMs, numAttempts: 0 });
}

/** Template output or JSON line, always newline-terminated. */
export function withNewline(text: string): string {
  return text.endsWith('\n') ? text : text + '\n';
}
