/**
 * RFC 3464 delivery status notifications built from a log record
 * (`kumo.generate_rfc3464_message`, lua-api-more §6.4): multipart/report with
 * a human-readable part, a message/delivery-status part and, if asked, the
 * original message or its headers.
 */
import { randomUUID } from 'node:crypto';
import { rfc5322Date } from '../message/conformance.ts';
import { parseHeaderBlock } from '../message/headers.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';

export type IncludeOriginal = 'FullContent' | 'HeadersOnly' | 'No';

export interface DsnParams {
  includeOriginalMessage: IncludeOriginal;
  enableBounce: boolean;
  enableExpiration: boolean;
  reportingMta: { mtaType: string; name: string };
  /** Fixed boundary and Message-ID, for tests. */
  stableContent: boolean;
}

export interface GeneratedDsn {
  /** Always the null sender. */
  sender: '';
  recipient: string;
  data: Uint8Array;
}

export class DsnParamsError extends Error {}

const isObject = (v: JsonValue | undefined): v is JsonObject => isJsonObject(v);

/** The lenient params table: unknown keys are ignored, required ones checked. */
export function parseDsnParams(v: JsonValue): DsnParams {
  if (!isObject(v)) throw new DsnParamsError('generate_rfc3464_message: params must be a table');
  const include = v.include_original_message;
  if (include !== 'FullContent' && include !== 'HeadersOnly' && include !== 'No') {
    throw new DsnParamsError(
      include === undefined
        ? 'generate_rfc3464_message: missing field `include_original_message`'
        : `generate_rfc3464_message: unknown variant \`${String(include)}\`, expected one of \`FullContent\`, \`HeadersOnly\`, \`No\``,
    );
  }
  const mta = v.reporting_mta;
  if (!isObject(mta) || typeof mta.mta_type !== 'string' || typeof mta.name !== 'string') {
    throw new DsnParamsError('generate_rfc3464_message: `reporting_mta` must be { mta_type = string, name = string }');
  }
  return {
    includeOriginalMessage: include,
    enableBounce: v.enable_bounce === true,
    enableExpiration: v.enable_expiration === true,
    reportingMta: { mtaType: mta.mta_type, name: mta.name },
    stableContent: v.stable_content === true,
  };
}

const dateOfSecs = (secs: number): string => rfc5322Date(secs * 1000);

function responseLine(response: JsonObject): { status: string; line: string } {
  const code = typeof response.code === 'number' ? response.code : 0;
  const ec = isObject(response.enhanced_code) ? response.enhanced_code : null;
  const enhanced = ec ? `${ec.class}.${ec.subject}.${ec.detail}` : null;
  const content = typeof response.content === 'string' ? response.content.replace(/\r\n|\r|\n/g, ' ') : '';
  return {
    status: enhanced ?? (code >= 400 && code < 500 ? '4.0.0' : '5.0.0'),
    line: `${code} ${enhanced ? `${enhanced} ` : ''}${content}`,
  };
}

/**
 * The DSN for `record`, or null: no sender, a Bounce unless enabled and
 * delivered over ESMTP, an Expiration unless enabled, any other type.
 */
export function generateDsn(params: DsnParams, original: Uint8Array | null, record: JsonObject, nowSecs: number): GeneratedDsn | null {
  const sender = typeof record.sender === 'string' ? record.sender : '';
  if (sender === '') return null;
  if (record.type === 'Bounce') {
    if (!params.enableBounce || record.delivery_protocol !== 'ESMTP') return null;
  } else if (record.type === 'Expiration') {
    if (!params.enableExpiration) return null;
  } else {
    return null;
  }

  const mta = params.reportingMta;
  const boundary = params.stableContent ? 'report-boundary' : `report-${randomUUID()}`;
  const messageId = params.stableContent ? `<dsn@${mta.name}>` : `<${randomUUID()}@${mta.name}>`;
  const recipients = Array.isArray(record.recipient) ? record.recipient.map(String) : [String(record.recipient ?? '')];
  const response = isObject(record.response) ? record.response : {};
  const { status, line } = responseLine(response);
  const peer = isObject(record.peer_address) && typeof record.peer_address.name === 'string' ? record.peer_address.name : '';
  const created = typeof record.created === 'number' ? record.created : nowSecs;
  const attempted = typeof record.timestamp === 'number' ? record.timestamp : nowSecs;
  const why = record.type === 'Expiration' ? 'could not be delivered in time and has expired' : 'could not be delivered';

  const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';
  const perRecipient = recipients.map((rcpt) =>
    crlf([
      `Final-Recipient: rfc822; ${rcpt}`,
      'Action: failed',
      `Status: ${status}`,
      ...(peer ? [`Remote-MTA: dns; ${peer}`] : []),
      `Diagnostic-Code: smtp; ${line}`,
      `Last-Attempt-Date: ${dateOfSecs(attempted)}`,
    ]),
  );
  const parts: Array<string | Uint8Array> = [
    crlf([
      `From: Mail Delivery Subsystem <mailer-daemon@${mta.name}>`,
      `To: ${sender}`,
      'Subject: Returned mail',
      `Date: ${dateOfSecs(nowSecs)}`,
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type="delivery-status"; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `Your message ${why} to the following recipient(s):`,
      '',
      ...recipients.map((r) => `  ${r}`),
      '',
      `The reply was: ${line}`,
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      `Reporting-MTA: ${mta.mtaType}; ${mta.name}`,
      `Arrival-Date: ${dateOfSecs(created)}`,
      '',
    ]) + perRecipient.join('\r\n'),
  ];
  if (original && params.includeOriginalMessage !== 'No') {
    const full = params.includeOriginalMessage === 'FullContent';
    parts.push(crlf(['', `--${boundary}`, `Content-Type: ${full ? 'message/rfc822' : 'text/rfc822-headers'}`, '', '']).slice(0, -2));
    const body = full ? original : original.subarray(0, parseHeaderBlock(original).headerEnd);
    parts.push(body);
    // The CRLF before a boundary belongs to the boundary: the part keeps its own last line break.
    parts.push('\r\n');
  } else {
    parts.push('\r\n');
  }
  parts.push(`--${boundary}--\r\n`);

  const encoder = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { sender: '', recipient: sender, data };
}
