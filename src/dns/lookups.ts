/**
 * The non-MX lookups of `kumo.dns` (lua-api-more §4.3), usable from
 * TypeScript too. `resolverName` picks a `define_resolver` resolver; absent =
 * the default one.
 */
import { isIP } from 'node:net';
import { parseDomainLiteral, splitPort } from './names.ts';
import { ptrHost, reverseIp } from './reverse.ts';
import { processDns, type DnsService } from './service.ts';
import type { DnsAnswer, RecordType } from './types.ts';

export type AddrStrategy = 'Ipv4AndIpv6' | 'Ipv4Only' | 'Ipv6Only' | 'Ipv4ThenIpv6' | 'Ipv6ThenIpv4';
export const ADDR_STRATEGIES: readonly AddrStrategy[] = ['Ipv4AndIpv6', 'Ipv4Only', 'Ipv6Only', 'Ipv4ThenIpv6', 'Ipv6ThenIpv4'];

function addresses(answer: DnsAnswer): string[] {
  return answer.records.flatMap((r) => (r.type === 'A' || r.type === 'AAAA' ? [r.address] : []));
}

/**
 * IP addresses of `name`; an IP literal (bare or bracketed) returns itself.
 * No addresses ⇒ `[]`; throws only when nothing was found and a query failed.
 */
export async function lookupAddr(name: string, resolverName?: string, strategy: AddrStrategy = 'Ipv4AndIpv6', dns: DnsService = processDns): Promise<string[]> {
  if (isIP(name)) return [name];
  const literal = parseDomainLiteral(name);
  if (literal) return [literal.address];
  const resolver = dns.resolver(resolverName);
  const families: RecordType[] = strategy === 'Ipv4Only' ? ['A'] : strategy === 'Ipv6Only' ? ['AAAA'] : strategy === 'Ipv6ThenIpv4' ? ['AAAA', 'A'] : ['A', 'AAAA'];
  const stopAtFirst = strategy === 'Ipv4ThenIpv6' || strategy === 'Ipv6ThenIpv4';
  const found: string[] = [];
  let failure: unknown;
  for (const type of families) {
    try {
      found.push(...addresses(await resolver.query(name, type)));
    } catch (err) {
      failure ??= err;
    }
    if (stopAtFirst && found.length > 0) break;
  }
  if (found.length === 0 && failure) throw failure;
  return found;
}

/** One string per TXT record, its character-strings concatenated. */
export async function lookupTxt(name: string, resolverName?: string, dns: DnsService = processDns): Promise<string[]> {
  const answer = await dns.resolver(resolverName).query(name, 'TXT');
  return answer.records.flatMap((r) => (r.type === 'TXT' ? [r.strings.join('')] : []));
}

/** PTR names of `ip`, with trailing dot. */
export async function lookupPtr(ip: string, resolverName?: string, dns: DnsService = processDns): Promise<string[]> {
  const owner = ptrHost(ip);
  const answer = await dns.resolver(resolverName).query(owner, 'PTR');
  return answer.records.flatMap((r) => (r.type === 'PTR' ? [r.name] : []));
}

/** `ip`, `ip:port` or `[ip]:port` → the bare address. */
function bareIp(text: string): string {
  const literal = parseDomainLiteral(text);
  if (literal) return literal.address;
  if (isIP(text)) return text;
  const { host } = splitPort(text);
  if (isIP(host)) return host;
  throw new Error(`invalid IP address ${JSON.stringify(text)}`);
}

/** DNSBL check: listed ⇒ the first address and the TXT of the same name (records joined); else nulls. */
export async function rblLookup(ip: string, base: string, resolverName?: string, dns: DnsService = processDns): Promise<{ address: string | null; txt: string | null }> {
  const name = `${reverseIp(bareIp(ip))}.${base.replace(/\.$/, '')}.`;
  const found = await lookupAddr(name, resolverName, 'Ipv4AndIpv6', dns);
  if (found.length === 0) return { address: null, txt: null };
  const txt = await lookupTxt(name, resolverName, dns);
  return { address: found[0]!, txt: txt.length > 0 ? txt.join('') : null };
}

export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  /** Lower-case hex. */
  data: string;
}

/** TLSA records of `name` (e.g. `_25._tcp.mx.example.`) and whether the answer was DNSSEC-validated (DANE needs both). */
export async function lookupTlsa(name: string, resolverName?: string, dns: DnsService = processDns): Promise<{ records: TlsaRecord[]; secure: boolean }> {
  const answer = await dns.resolver(resolverName).query(name, 'TLSA');
  const records = answer.records.flatMap((r) => (r.type === 'TLSA' ? [{ usage: r.usage, selector: r.selector, matchingType: r.matchingType, data: r.data }] : []));
  return { records, secure: answer.secure };
}
