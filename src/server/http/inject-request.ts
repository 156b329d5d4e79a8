/**
 * The `POST /api/inject/v1` request body (engine.md §8.4), checked field by
 * field: every object rejects unknown keys and every error names the field.
 */
import { fromJsonText, isJsonObject, JsonFloat, type JsonObject, type JsonValue } from '../../util/json.ts';
import { parseEnvelopeAddress, type EnvelopeAddress } from '../../message/address.ts';
import { HttpError } from './reply.ts';

export interface InjectRecipient {
  email: string;
  address: EnvelopeAddress;
  /** Why this recipient's address is unusable; it then fails alone (engine.md §8.5). */
  invalid: string | null;
  name: string | null;
  substitutions: JsonObject;
  metadata: JsonObject;
}

export interface InjectAttachment {
  data: string;
  contentType: string;
  contentId: string | null;
  fileName: string | null;
  base64: boolean;
}

export interface NamedAddress {
  email: string;
  name: string | null;
}

export interface ContentBuilder {
  textBody: string | null;
  htmlBody: string | null;
  ampHtmlBody: string | null;
  attachments: InjectAttachment[];
  headers: [string, string][];
  from: NamedAddress | null;
  subject: string | null;
  replyTo: NamedAddress | null;
}

export interface TraceHeaders {
  receivedHeader: boolean;
  supplementalHeader: boolean;
  headerName: string;
  includeMetaNames: string[];
}

export type TemplateDialect = 'Jinja' | 'Static' | 'Handlebars';

export interface InjectRequest {
  envelopeSender: EnvelopeAddress;
  recipients: InjectRecipient[];
  content: string | ContentBuilder;
  substitutions: JsonObject;
  templateDialect: TemplateDialect;
  deferredSpool: boolean;
  deferredGeneration: boolean;
  traceHeaders: TraceHeaders;
}

const bad = (field: string, why: string): never => {
  throw new HttpError(400, `${field}: ${why}`);
};

function object(v: JsonValue | undefined, field: string, allowed: readonly string[]): JsonObject {
  if (!isJsonObject(v) || Array.isArray(v)) return bad(field, 'expected an object');
  for (const k of Object.keys(v)) if (!allowed.includes(k)) bad(field === '(request)' ? k : `${field}.${k}`, 'unknown field');
  return v;
}

function str(v: JsonValue | undefined, field: string): string {
  if (typeof v !== 'string') return bad(field, v === undefined ? 'missing field' : 'expected a string');
  return v;
}

function optStr(v: JsonValue | undefined, field: string): string | null {
  return v === undefined || v === null ? null : str(v, field);
}

function bool(v: JsonValue | undefined, field: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') return bad(field, 'expected true or false');
  return v;
}

function optObject(v: JsonValue | undefined, field: string): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v) || Array.isArray(v)) return bad(field, 'expected an object');
  return v;
}

/** Longest address SMTP can carry (RFC 5321: 64 + 1 + 255). */
const MAX_ADDRESS_LENGTH = 320;

/** The envelope parser is lenient; control characters and absurd lengths are refused before it. */
function parseStrictAddress(text: string): EnvelopeAddress {
  if (/[\x00-\x1f\x7f]/.test(text)) throw new Error('the address contains a control character');
  if (text.length > MAX_ADDRESS_LENGTH) throw new Error(`the address is longer than ${MAX_ADDRESS_LENGTH} characters`);
  return parseEnvelopeAddress(text);
}

function address(text: string, field: string): EnvelopeAddress {
  try {
    return parseStrictAddress(text);
  } catch (e) {
    return bad(field, (e as Error).message);
  }
}

/** RFC 5322 field name: printable ASCII but ':'. */
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** A builder header: the name must be a field name and the value one line (nodemailer would fold a break away silently). */
function header(name: string, value: JsonValue): [string, string] {
  const field = `content.headers.${name}`;
  if (!HEADER_NAME.test(name)) bad(field, 'a header name is printable ASCII without spaces or ":"');
  const text = str(value, field);
  if (/[\r\n\0]/.test(text)) bad(field, 'a header value cannot contain CR, LF or NUL');
  return [name, text];
}

function recipient(v: JsonValue, i: number): InjectRecipient {
  const field = `recipients[${i}]`;
  const o = object(v, field, ['email', 'name', 'substitutions', 'metadata']);
  const email = str(o.email, `${field}.email`);
  // A bad address fails only this recipient, not the whole request.
  let parsed: EnvelopeAddress = { user: '', domain: '', email };
  let invalid: string | null = null;
  try {
    parsed = parseStrictAddress(email);
    if (parsed.email === '') invalid = 'a recipient cannot be the null address';
  } catch (e) {
    invalid = (e as Error).message;
  }
  return {
    email,
    address: parsed,
    invalid,
    name: optStr(o.name, `${field}.name`),
    substitutions: optObject(o.substitutions, `${field}.substitutions`),
    metadata: optObject(o.metadata, `${field}.metadata`),
  };
}

function namedAddress(v: JsonValue | undefined, field: string): NamedAddress | null {
  if (v === undefined || v === null) return null;
  const o = object(v, field, ['email', 'name']);
  const email = str(o.email, `${field}.email`);
  address(email, `${field}.email`);
  return { email, name: optStr(o.name, `${field}.name`) };
}

function attachment(v: JsonValue, i: number): InjectAttachment {
  const field = `content.attachments[${i}]`;
  const o = object(v, field, ['data', 'content_type', 'content_id', 'file_name', 'base64']);
  return {
    data: str(o.data, `${field}.data`),
    contentType: str(o.content_type, `${field}.content_type`),
    contentId: optStr(o.content_id, `${field}.content_id`),
    fileName: optStr(o.file_name, `${field}.file_name`),
    base64: bool(o.base64, `${field}.base64`, false),
  };
}

function builder(v: JsonValue): ContentBuilder {
  const o = object(v, 'content', ['text_body', 'html_body', 'amp_html_body', 'attachments', 'headers', 'from', 'subject', 'reply_to']);
  const attachments = o.attachments ?? [];
  if (!Array.isArray(attachments)) bad('content.attachments', 'expected a list');
  const headers = optObject(o.headers, 'content.headers');
  const headerList = Object.entries(headers).map(([k, val]) => header(k, val));
  return {
    textBody: optStr(o.text_body, 'content.text_body'),
    htmlBody: optStr(o.html_body, 'content.html_body'),
    ampHtmlBody: optStr(o.amp_html_body, 'content.amp_html_body'),
    attachments: (attachments as JsonValue[]).map(attachment),
    headers: headerList,
    from: namedAddress(o.from, 'content.from'),
    subject: optStr(o.subject, 'content.subject'),
    replyTo: namedAddress(o.reply_to, 'content.reply_to'),
  };
}

function traceHeaders(v: JsonValue | undefined): TraceHeaders {
  // Absent object and present-but-partial object default differently (KumoMTA quirk).
  if (v === undefined || v === null) return { receivedHeader: false, supplementalHeader: true, headerName: 'X-KumoRef', includeMetaNames: [] };
  const o = object(v, 'trace_headers', ['received_header', 'supplemental_header', 'header_name', 'include_meta_names']);
  const names = o.include_meta_names ?? [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) bad('trace_headers.include_meta_names', 'expected a list of strings');
  return {
    receivedHeader: bool(o.received_header, 'trace_headers.received_header', true),
    supplementalHeader: bool(o.supplemental_header, 'trace_headers.supplemental_header', true),
    headerName: optStr(o.header_name, 'trace_headers.header_name') ?? 'X-KumoRef',
    includeMetaNames: names as string[],
  };
}

/** Plain JS values for the template engine (JsonFloat unboxed). */
export function templateValue(v: JsonValue): unknown {
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(templateValue);
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, templateValue(x)]));
  return v;
}

/**
 * The body as text, or a 400 naming the byte offset of the first invalid
 * UTF-8 sequence: replacing it with U+FFFD would accept a message that is
 * not what the client sent.
 */
export function decodeInjectBody(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) {
    const offset = Buffer.byteLength(text.slice(0, i), 'utf8');
    // A U+FFFD the client really sent is EF BF BD in the input.
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) {
      throw new HttpError(400, `request body is not valid UTF-8: invalid byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at offset ${offset}`);
    }
  }
  return text;
}

export function parseInjectRequest(body: string | Uint8Array): InjectRequest {
  let parsed: JsonValue;
  try {
    parsed = fromJsonText(typeof body === 'string' ? body : decodeInjectBody(body));
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
  const o = object(parsed, '(request)', [
    'envelope_sender', 'recipients', 'content', 'substitutions', 'template_dialect',
    'deferred_spool', 'deferred_generation', 'trace_headers',
  ]);
  const sender = str(o.envelope_sender, 'envelope_sender');
  const envelopeSender = address(sender, 'envelope_sender');
  if (!Array.isArray(o.recipients)) bad('recipients', o.recipients === undefined ? 'missing field' : 'expected a list');
  const recipients = (o.recipients as JsonValue[]).map(recipient);
  if (o.content === undefined) bad('content', 'missing field');
  const content = typeof o.content === 'string' ? o.content : builder(o.content as JsonValue);
  const dialect = o.template_dialect ?? 'Jinja';
  if (dialect !== 'Jinja' && dialect !== 'Static' && dialect !== 'Handlebars') bad('template_dialect', 'expected "Jinja", "Static" or "Handlebars"');
  return {
    envelopeSender,
    recipients,
    content,
    substitutions: optObject(o.substitutions, 'substitutions'),
    templateDialect: dialect as TemplateDialect,
    deferredSpool: bool(o.deferred_spool, 'deferred_spool', false),
    deferredGeneration: bool(o.deferred_generation, 'deferred_generation', false),
    traceHeaders: traceHeaders(o.trace_headers),
  };
}
