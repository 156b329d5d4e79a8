/**
 * `msg:parse_rfc3464()` (delivery status notifications) and
 * `msg:parse_rfc5965()` (ARF feedback reports), lua-api-more.md §7.4 and
 * log-record.md §4.8. Both find their report part in a multipart/report
 * message and read its header-style fields; the result is plain JSON with
 * KumoMTA's key names and order.
 */
import libqp from 'libqp';
import { decodeText } from '../lua/strings.ts';
import { formatRfc3339, instantFromMs } from '../records/time-format.ts';
import type { JsonObject, JsonValue } from '../util/json.ts';
import { flattenParts, parseMimePart, type MimePart } from './mime-tree.ts';

export class ReportParseError extends Error {}

const DSN_PARTS = ['message/delivery-status', 'message/global-delivery-status'];
const ORIGINAL_PARTS = ['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers'];

function partBody(data: Uint8Array, part: MimePart): Buffer {
  const raw = Buffer.from(data.subarray(part.bodyStart, part.bodyEnd));
  if (part.transferEncoding === 'base64') return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (part.transferEncoding === 'quoted-printable') return libqp.decode(raw.toString('latin1'));
  return raw;
}

/** The report's parts, or null when the message is not multipart/report. */
function reportParts(data: Uint8Array): MimePart[] | null {
  const root = parseMimePart(data, 0, data.length);
  if (root.contentType !== 'multipart/report') return null;
  return flattenParts(root).slice(1);
}

type Field = [name: string, value: string];

/** Groups of unfolded `Name: value` fields separated by blank lines. */
function fieldGroups(text: string): Field[][] {
  const groups: Field[][] = [];
  let current: Field[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (current.length > 0) groups.push(current);
      current = [];
    } else if (/^[ \t]/.test(line) && current.length > 0) {
      current[current.length - 1]![1] += ' ' + line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ReportParseError(`malformed report field ${JSON.stringify(line)}`);
      current.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** `type; value` (Reporting-MTA, Final-Recipient, Diagnostic-Code ...). */
function typed(name: string, value: string, typeKey: string, valueKey: string): JsonObject {
  const semi = value.indexOf(';');
  if (semi < 0) throw new ReportParseError(`${name}: expected "<type>; <value>", got ${JSON.stringify(value)}`);
  return { [typeKey]: value.slice(0, semi).trim(), [valueKey]: value.slice(semi + 1).trim() };
}

function rfc3339(name: string, value: string): string {
  const ms = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  if (Number.isNaN(ms)) throw new ReportParseError(`${name}: invalid date ${JSON.stringify(value)}`);
  return formatRfc3339(instantFromMs(ms));
}

function status(value: string): JsonObject {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+(.*))?$/.exec(value);
  if (!m) throw new ReportParseError(`Status: invalid status code ${JSON.stringify(value)}`);
  const out: JsonObject = { class: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) };
  if (m[4]) out.comment = m[4].replace(/^\((.*)\)$/, '$1');
  return out;
}

function addExtension(ext: JsonObject, name: string, value: string): void {
  const list = ext[name];
  if (Array.isArray(list)) list.push(value);
  else ext[name] = [value];
}

function originalMessage(data: Uint8Array, parts: MimePart[]): string | null {
  const part = parts.find((p) => ORIGINAL_PARTS.includes(p.contentType));
  if (!part) return null;
  return decodeText(partBody(data, part)).replace(/\r\n/g, '\n');
}

const ACTIONS = new Set(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);

function perMessage(fields: Field[]): JsonObject {
  const out: JsonObject = {};
  const ext: JsonObject = {};
  for (const [name, value] of fields) {
    switch (name.toLowerCase()) {
      case 'reporting-mta': out.reporting_mta = typed(name, value, 'mta_type', 'name'); break;
      case 'original-envelope-id': out.original_envelope_id = value; break;
      case 'dsn-gateway': out.dsn_gateway = typed(name, value, 'mta_type', 'name'); break;
      case 'received-from-mta': out.received_from_mta = typed(name, value, 'mta_type', 'name'); break;
      case 'arrival-date': out.arrival_date = rfc3339(name, value); break;
      default: addExtension(ext, name.toLowerCase(), value);
    }
  }
  if (!out.reporting_mta) throw new ReportParseError('delivery status: missing Reporting-MTA');
  const ordered: JsonObject = { reporting_mta: out.reporting_mta };
  for (const k of ['original_envelope_id', 'dsn_gateway', 'received_from_mta', 'arrival_date']) if (out[k] !== undefined) ordered[k] = out[k]!;
  ordered.extensions = ext;
  return ordered;
}

function perRecipient(fields: Field[]): JsonObject {
  const out: JsonObject = {};
  const ext: JsonObject = {};
  for (const [name, value] of fields) {
    switch (name.toLowerCase()) {
      case 'final-recipient': out.final_recipient = typed(name, value, 'recipient_type', 'recipient'); break;
      case 'original-recipient': out.original_recipient = typed(name, value, 'recipient_type', 'recipient'); break;
      case 'action': {
        const action = value.toLowerCase();
        if (!ACTIONS.has(action)) throw new ReportParseError(`Action: invalid value ${JSON.stringify(value)}`);
        out.action = action;
        break;
      }
      case 'status': out.status = status(value); break;
      case 'remote-mta': out.remote_mta = typed(name, value, 'mta_type', 'name'); break;
      case 'diagnostic-code': out.diagnostic_code = typed(name, value, 'diagnostic_type', 'diagnostic'); break;
      case 'last-attempt-date': out.last_attempt_date = rfc3339(name, value); break;
      case 'final-log-id': out.final_log_id = value; break;
      case 'will-retry-until': out.will_retry_until = rfc3339(name, value); break;
      default: addExtension(ext, name.toLowerCase(), value);
    }
  }
  for (const required of ['final_recipient', 'action', 'status']) {
    if (out[required] === undefined) throw new ReportParseError(`delivery status: a recipient block lacks ${required.replace('_', '-')}`);
  }
  const ordered: JsonObject = {};
  for (const k of ['final_recipient', 'original_recipient', 'action', 'status', 'remote_mta', 'diagnostic_code', 'last_attempt_date', 'final_log_id', 'will_retry_until']) {
    if (out[k] !== undefined) ordered[k] = out[k]!;
  }
  ordered.extensions = ext;
  return ordered;
}

/** RFC 3464 report, null when the message is not multipart/report; malformed reports raise. */
export function parseRfc3464(data: Uint8Array): JsonObject | null {
  const parts = reportParts(data);
  if (!parts) return null;
  const status = parts.find((p) => DSN_PARTS.includes(p.contentType));
  if (!status) throw new ReportParseError('multipart/report has no message/delivery-status part');
  const groups = fieldGroups(decodeText(partBody(data, status)));
  if (groups.length === 0) throw new ReportParseError('delivery status part is empty');
  const report: JsonObject = {
    per_message: perMessage(groups[0]!),
    per_recipient: groups.slice(1).map(perRecipient),
  };
  const original = originalMessage(data, parts);
  if (original !== null) report.original_message = original;
  return report;
}

/** The X-KumoRef payload of the reported message, if it carries one. */
function supplementalTrace(original: string | null): JsonValue {
  const m = original && /^X-KumoRef:[ \t]*([A-Za-z0-9+/=]+)/im.exec(original);
  if (!m) return null;
  try {
    const v = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as JsonValue;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const ARF_LISTS: Record<string, string> = {
  'authentication-results': 'authentication_results',
  'original-rcpt-to': 'original_rcpto_to',
  'reported-domain': 'reported_domain',
  'reported-uri': 'reported_uri',
};

/** RFC 5965 feedback report as in a Feedback record's `feedback_report`, or null when it is not ARF. */
export function parseRfc5965(data: Uint8Array): JsonObject | null {
  const parts = reportParts(data);
  if (!parts) return null;
  const part = parts.find((p) => p.contentType === 'message/feedback-report');
  if (!part) return null;
  const fields = fieldGroups(decodeText(partBody(data, part))).flat();
  const single: Record<string, string> = {};
  const lists: Record<string, string[]> = { authentication_results: [], original_rcpto_to: [], reported_domain: [], reported_uri: [] };
  const extensions: JsonObject = {};
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    if (ARF_LISTS[key]) lists[ARF_LISTS[key]]!.push(value);
    else if (['feedback-type', 'user-agent', 'version', 'arrival-date', 'received-date', 'incidents', 'original-envelope-id', 'original-mail-from', 'reporting-mta', 'source-ip'].includes(key)) single[key] = value;
    else addExtension(extensions, key, value);
  }
  for (const required of ['feedback-type', 'user-agent', 'version']) {
    if (single[required] === undefined) throw new ReportParseError(`feedback report: missing ${required}`);
  }
  const arrival = single['arrival-date'] ?? single['received-date'];
  const incidents = single.incidents;
  if (incidents !== undefined && !/^\d+$/.test(incidents)) throw new ReportParseError(`feedback report: Incidents is not a number: ${JSON.stringify(incidents)}`);
  const original = originalMessage(data, parts);
  return {
    feedback_type: single['feedback-type']!,
    user_agent: single['user-agent']!,
    version: single.version!,
    arrival_date: arrival === undefined ? null : rfc3339('Arrival-Date', arrival),
    incidents: incidents === undefined ? null : Number(incidents),
    original_envelope_id: single['original-envelope-id'] ?? null,
    original_mail_from: single['original-mail-from'] ?? null,
    reporting_mta: single['reporting-mta'] === undefined ? null : typed('Reporting-MTA', single['reporting-mta'], 'mta_type', 'name'),
    source_ip: single['source-ip'] ?? null,
    authentication_results: lists.authentication_results!,
    original_rcpto_to: lists.original_rcpto_to!,
    reported_domain: lists.reported_domain!,
    reported_uri: lists.reported_uri!,
    extensions,
    original_message: original,
    supplemental_trace: supplementalTrace(original),
  };
}
