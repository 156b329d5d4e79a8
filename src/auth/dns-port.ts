/**
 * The one place authentication code gets DNS answers from. SPF, DMARC, DKIM
 * and ARC verification (mailauth) ask through a function shaped like node's
 * `dns.promises.resolve(name, rrtype)`: TXT answers are arrays of string
 * chunks, a missing name rejects with `code` ENOTFOUND / ENODATA.
 *
 * The default is node:dns; the daemon points it at kumo.dns's active resolver
 * (including `kumo.dns.configure_test_resolver`) with `setAuthResolver`.
 */
import { promises as nodeDns } from 'node:dns';

/** `dns.promises.resolve` as mailauth calls it: the result type depends on rrtype. */
export type DnsResolveFunction = (name: string, rrtype: string) => Promise<unknown>;

let active: DnsResolveFunction = (name, rrtype) => nodeDns.resolve(name, rrtype);

/** The resolver authentication lookups use now. */
export function authResolver(): DnsResolveFunction {
  return active;
}

/** Replaces the resolver for every later lookup (the daemon wires kumo.dns here). */
export function setAuthResolver(resolver: DnsResolveFunction): void {
  active = resolver;
}

/** A DNS error the way node reports it, so mailauth classifies it (none vs temperror). */
export function dnsError(code: 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'ETIMEOUT', name: string): Error & { code: string } {
  return Object.assign(new Error(`${code} ${name}`), { code });
}
