/**
 * From a routing domain to a site (ready-queue naming, §1.2–1.7) and, at
 * the start of each session, to the ordered connection plan (§1.8).
 */
import type { MxListEntry, SmtpProtocol } from './mx-list.ts';
import { mxListSiteName } from './mx-list.ts';
import { isIp, parseBracketLiteral, splitPortSuffix } from './address.ts';
import type { SmtpPathOptions } from './path-options.ts';
import type { MxResolver, MxResult } from './ports.ts';
import { siteName } from '../../dns/site-name.ts';

/** What a ready queue keeps from resolution: its site and how to plan sessions. */
export interface SmtpRoute {
  siteName: string;
  /** MX hosts (null for mx_list routes). */
  mx: MxResult | null;
  mxList: MxListEntry[] | null;
}

/** One address to try (§1.8). `port` is the address's own port, if it had one. */
export interface Candidate {
  name: string;
  ip: string | null;
  path: string | null;
  port: number | null;
  isSecure: boolean;
}

export type PlanResult =
  | { kind: 'plan'; candidates: Candidate[] }
  | { kind: 'null-mx' }
  | { kind: 'no-hosts' }
  | { kind: 'prohibited'; address: string }
  | { kind: 'skipped' };

/** Resolves the routing domain (or the mx_list) into the site of its ready queue. */
export async function resolveRoute(protocol: SmtpProtocol, routingName: string, resolver: MxResolver): Promise<SmtpRoute> {
  if (protocol.mxList.length > 0) return { siteName: mxListSiteName(protocol.mxList), mx: null, mxList: protocol.mxList };
  const literal = parseBracketLiteral(routingName);
  if (literal) {
    const host = literal.port === null ? literal.ip : literal.ip.includes(':') ? `[${literal.ip}]:${literal.port}` : `${literal.ip}:${literal.port}`;
    return { siteName: literal.port === null ? literal.ip : `${literal.ip}:${literal.port}`, mx: { buckets: [[host]], isMx: false }, mxList: null };
  }
  const { host, port } = splitPortSuffix(routingName);
  const mx = await resolver.resolveMx(host);
  const buckets = port === null ? mx.buckets : mx.buckets.map((b) => b.map((h) => (h === '.' ? h : `${h}:${port}`)));
  const hosts = buckets.flat();
  const site = hosts.length === 1 && hosts[0] === '.' ? '' : siteName(hosts);
  return { siteName: site, mx: { ...mx, buckets }, mxList: null };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A host entry of an MX bucket: `name.`, `name.:port`, an IP or `[ip]:port`. */
function hostParts(h: string): { name: string; ip: string | null; port: number | null } {
  const literal = h.startsWith('[') ? parseBracketLiteral(h) : null;
  if (literal) return { name: literal.ip, ip: literal.ip, port: literal.port };
  if (isIp(h)) return { name: h, ip: h, port: null };
  const { host, port } = splitPortSuffix(h);
  return { name: host, ip: isIp(host) ? host : null, port };
}

/** Builds the plan and applies the null-MX / prohibited / skip checks in KumoMTA's order. */
export async function buildPlan(route: SmtpRoute, opts: SmtpPathOptions, resolver: MxResolver, random: () => number, log: (text: string) => void): Promise<PlanResult> {
  const candidates: Candidate[] = [];
  if (route.mxList) {
    for (const e of route.mxList) {
      if (e.kind === 'path') candidates.push({ name: e.name, ip: null, path: e.path, port: null, isSecure: false });
      else if (e.kind === 'ip') candidates.push({ name: e.name, ip: e.ip, path: null, port: e.port, isSecure: false });
      else for (const ip of await resolver.lookupAddr(e.host, opts.ipLookupStrategy)) candidates.push({ name: e.name, ip, path: null, port: e.port, isSecure: false });
    }
  } else {
    for (const bucket of route.mx!.buckets) {
      const found: Candidate[] = [];
      for (const h of bucket) {
        if (h === '.' || h.startsWith('.:')) return { kind: 'null-mx' };
        const { name, ip, port } = hostParts(h);
        if (ip) {
          found.push({ name, ip, path: null, port, isSecure: false });
          continue;
        }
        try {
          for (const addr of await resolver.lookupAddr(name, opts.ipLookupStrategy)) found.push({ name, ip: addr, path: null, port, isSecure: false });
        } catch (err) {
          log(`resolving ${name} failed, skipping it: ${(err as Error).message}`);
        }
      }
      candidates.push(...shuffle(found, random));
    }
  }
  if (candidates.length === 0) return { kind: 'no-hosts' };
  const bad = candidates.find((c) => c.ip !== null && opts.prohibitedHosts.has(c.ip));
  if (bad) return { kind: 'prohibited', address: addressLabel(bad) };
  const kept = candidates.filter((c) => c.ip === null || !opts.skipHosts.has(c.ip));
  if (kept.length === 0) return { kind: 'skipped' };
  return { kind: 'plan', candidates: kept };
}

/** `name/ip`, or the address alone when both texts are equal (§4.7 `<addr>`). */
export function addressLabel(c: Candidate): string {
  const addr = c.ip ?? c.path ?? '';
  const name = c.name.replace(/\.$/, '');
  return name === addr ? addr : `${name}/${addr}`;
}

/** `peer_address` of a candidate (§4.8). */
export function peerAddress(c: Candidate): { name: string; addr: string; is_secure?: true } {
  const addr = c.path ?? (c.port !== null ? (c.ip!.includes(':') ? `[${c.ip}]:${c.port}` : `${c.ip}:${c.port}`) : c.ip!);
  return c.isSecure ? { name: c.name, addr, is_secure: true } : { name: c.name, addr };
}

/** Rust's Debug of the candidate, as KumoMTA's texts embed it (`ResolvedAddress { ... }`). */
export function debugCandidate(c: Candidate): string {
  return `ResolvedAddress { name: ${JSON.stringify(c.name)}, addr: ${c.path ?? c.ip}, is_secure: ${c.isSecure} }`;
}
