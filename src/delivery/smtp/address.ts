/**
 * Address text rules shared by mx_list entries, routing-domain literals and
 * host filters: the port-suffix rule, bracketed literals, CIDR sets.
 */
import ipaddr from 'ipaddr.js';
import { splitPort } from '../../dns/names.ts';

/** `name:port` only when the left part has no other `:` and the right is a u16 (§1.2): the DNS layer's rule. */
export const splitPortSuffix = splitPort;

export function isIp(text: string): boolean {
  return ipaddr.isValid(text) && (ipaddr.IPv4.isValidFourPartDecimal(text) || text.includes(':'));
}

/**
 * A bracketed literal `[ip]`, `[IPv6:ip]`, `[ip]:port` or `[ip:port]`;
 * null when `text` is not bracketed. Throws on a malformed one.
 */
export function parseBracketLiteral(text: string): { ip: string; port: number | null } | null {
  if (!text.startsWith('[')) return null;
  const close = text.indexOf(']');
  if (close < 0) throw new Error(`invalid address literal ${text}: missing ']'`);
  let inner = text.slice(1, close);
  const after = text.slice(close + 1);
  if (/^ipv6:/i.test(inner)) inner = inner.slice(5);
  let port: number | null = null;
  if (after !== '') {
    const m = /^:(\d{1,5})$/.exec(after);
    if (!m || Number(m[1]) > 65535) throw new Error(`invalid address literal ${text}: bad port`);
    port = Number(m[1]);
  }
  if (!isIp(inner)) {
    const split = splitPortSuffix(inner);
    if (split.port === null || !isIp(split.host)) throw new Error(`invalid address literal ${text}`);
    if (port !== null) throw new Error(`invalid address literal ${text}: port given twice`);
    return { ip: split.host, port: split.port };
  }
  return { ip: inner, port };
}

/** A set of CIDR blocks / single addresses, as `prohibited_hosts` and `skip_hosts` hold. */
export class CidrSet {
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(readonly texts: readonly string[], field: string) {
    this.ranges = texts.map((t) => {
      try {
        if (t.includes('/')) return ipaddr.parseCIDR(t);
        const ip = ipaddr.parse(t);
        return [ip, ip.kind() === 'ipv4' ? 32 : 128];
      } catch {
        throw new Error(`\`${field}\`: ${JSON.stringify(t)} is not an IP address or CIDR block`);
      }
    });
  }

  has(ip: string): boolean {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.parse(ip);
    } catch {
      return false;
    }
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    return this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
  }

  /** `{"0.0.0.0", "127.0.0.0/8", "::", "::1"}`: Rust's debug rendering of the set, sorted. */
  render(): string {
    return `{${[...this.texts].sort().map((t) => JSON.stringify(t)).join(', ')}}`;
  }

  get size(): number {
    return this.texts.length;
  }
}
