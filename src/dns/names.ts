/**
 * Parsing of the names lookups accept: `name:port` (smtp-delivery §1.2's port
 * suffix rule), domain literals `[192.0.2.1]`, `[IPv6:…]`, and A-label
 * conversion of Unicode names.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** Splits `host:port` at the last `:` when that is a port (the left part has no other `:`). */
export function splitPort(text: string): { host: string; port: number | null } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text, port: null };
  const left = text.slice(0, colon);
  const right = text.slice(colon + 1);
  if (left.includes(':') || !/^\d{1,5}$/.test(right) || Number(right) > 65535) return { host: text, port: null };
  return { host: left, port: Number(right) };
}

export interface DomainLiteral {
  address: string;
  port: number | null;
}

/** `[192.0.2.1]`, `[IPv6:2001:db8::1]:25`, `[192.0.2.1:25]` → address + port; null when not bracketed. */
export function parseDomainLiteral(text: string): DomainLiteral | null {
  if (!text.startsWith('[')) return null;
  const close = text.indexOf(']');
  if (close < 0) throw new Error(`invalid domain literal ${JSON.stringify(text)}: missing ']'`);
  let inner = text.slice(1, close);
  const after = text.slice(close + 1);
  if (/^ipv6:/i.test(inner)) inner = inner.slice(5);
  let port: number | null = null;
  if (after !== '') {
    const m = /^:(\d{1,5})$/.exec(after);
    if (!m || Number(m[1]) > 65535) throw new Error(`invalid domain literal ${JSON.stringify(text)}: bad port`);
    port = Number(m[1]);
  }
  if (!isIP(inner)) {
    const split = splitPort(inner);
    if (split.port === null || !isIP(split.host)) throw new Error(`invalid domain literal ${JSON.stringify(text)}: not an IP address`);
    if (port !== null) throw new Error(`invalid domain literal ${JSON.stringify(text)}: port given twice`);
    inner = split.host;
    port = split.port;
  }
  return { address: inner, port };
}

/** Lower-case, A-labels, trailing dot. */
export function normalizeDomain(name: string): string {
  let lower = name.toLowerCase();
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(lower)) {
    const ascii = domainToASCII(lower.replace(/\.$/, ''));
    if (ascii) lower = ascii;
  }
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** `addr` or `addr:port`, bracketing IPv6 when a port follows. */
export function withPort(host: string, port: number | null): string {
  if (port === null) return host;
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
