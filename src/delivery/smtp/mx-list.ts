/**
 * `protocol.smtp` of make_queue_config: the `mx_list` override and its site
 * label (smtp-delivery.md §1.1, §1.6).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../util/json.ts';
import { isIp, parseBracketLiteral, splitPortSuffix } from './address.ts';

/** One mx_list candidate source: a DNS name (looked up per session), a fixed IP, or a UNIX socket. */
export type MxListEntry =
  | { kind: 'host'; label: string; name: string; host: string; port: number | null }
  | { kind: 'ip'; label: string; name: string; ip: string; port: number | null }
  | { kind: 'path'; label: string; name: string; path: string };

export interface SmtpProtocol {
  kind: 'smtp';
  mxList: MxListEntry[];
  treatMxListAsSecure: boolean;
  /** The table as given, for inspection and change detection. */
  options: JsonObject;
}

function entryError(i: number, v: JsonValue, why: string): Error {
  return new Error(`protocol.smtp.mx_list[${i + 1}]: ${JSON.stringify(v)} ${why}`);
}

function parseAddr(text: string, label: string, name: string, i: number, raw: JsonValue, allowBracketV6Port: boolean): MxListEntry {
  if (text.startsWith('/')) return { kind: 'path', label, name, path: text };
  let literal: { ip: string; port: number | null } | null;
  try {
    literal = parseBracketLiteral(text);
  } catch (err) {
    throw entryError(i, raw, `is not a valid address: ${(err as Error).message}`);
  }
  if (literal) {
    if (!allowBracketV6Port && literal.port !== null && literal.ip.includes(':')) {
      throw entryError(i, raw, 'is a malformed literal: an IPv6 address with a port needs the { name = ..., addr = ... } form');
    }
    return { kind: 'ip', label, name, ip: literal.ip, port: literal.port };
  }
  if (isIp(text)) return { kind: 'ip', label, name, ip: text, port: null };
  const { host, port } = splitPortSuffix(text);
  if (isIp(host)) return { kind: 'ip', label, name, ip: host, port };
  return { kind: 'host', label, name, host, port };
}

function parseEntry(v: JsonValue, i: number): MxListEntry {
  if (typeof v === 'string') {
    if (v === '') throw entryError(i, v, 'is empty');
    const entry = parseAddr(v, v, v, i, v, false);
    if (entry.kind === 'host' && entry.host.includes(':')) throw entryError(i, v, 'is not a host name, host:port or address');
    return entry;
  }
  if (isJsonObject(v)) {
    const { name, addr, ...rest } = v;
    if (Object.keys(rest).length > 0) throw entryError(i, v, `has unknown field \`${Object.keys(rest)[0]}\`, expected \`name\` and \`addr\``);
    if (typeof name !== 'string' || typeof addr !== 'string') throw entryError(i, v, 'needs string fields `name` and `addr`');
    const entry = parseAddr(addr, addr, name, i, v, true);
    if (entry.kind === 'host') throw entryError(i, v, '`addr` must be an IP address, IP:port, [IPv6]:port or a socket path');
    return entry;
  }
  throw entryError(i, v, 'must be a string or a { name = ..., addr = ... } table');
}

/** Parses `protocol.smtp`; unknown keys inside are ignored as KumoMTA does. */
export function parseSmtpProtocol(options: JsonObject): SmtpProtocol {
  const raw = options.mx_list;
  let items: JsonValue[] = [];
  if (raw !== undefined && raw !== null) {
    if (Array.isArray(raw)) items = raw;
    else if (!(isJsonObject(raw) && Object.keys(raw).length === 0)) throw new Error('protocol.smtp.mx_list: expected a list of host names, addresses or { name, addr } tables');
  }
  const secure = options.treat_mx_list_as_secure;
  if (secure !== undefined && secure !== null && typeof secure !== 'boolean') throw new Error('protocol.smtp.treat_mx_list_as_secure: expected a boolean');
  return { kind: 'smtp', mxList: items.map(parseEntry), treatMxListAsSecure: secure === true, options };
}

/** `mx_list:<label>,<label>` (§1.6). */
export function mxListSiteName(entries: readonly MxListEntry[]): string {
  return `mx_list:${entries.map((e) => e.label).join(',')}`;
}
