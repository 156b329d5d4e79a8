/**
 * The one place authentication code gets DNS answers from. SPF, DMARC, DKIM
 * and ARC verification (mailauth) ask through a function shaped like node's
 * `dns.promises.resolve(name, rrtype)`: TXT answers are arrays of string
 * chunks, a missing name rejects with `code` ENOTFOUND / ENODATA, a failed
 * lookup with another code (ESERVFAIL, ETIMEOUT) and counts as temperror.
 *
 * The default is node:dns. The daemon points the port at kumo.dns's resolvers
 * (including `kumo.dns.configure_test_resolver`) with `setAuthResolverProvider`;
 * the optional name is the `opt_resolver_name` a policy passes.
 */
import { promises as nodeDns } from 'node:dns';

/** `dns.promises.resolve` as mailauth calls it: the result type depends on rrtype. */
export type DnsResolveFunction = (name: string, rrtype: string) => Promise<unknown>;

/** The resolver for a policy-given resolver name (undefined = the default one); throws for an unknown name. */
export type AuthResolverProvider = (resolverName?: string) => DnsResolveFunction;

const nodeResolver: DnsResolveFunction = (name, rrtype) => nodeDns.resolve(name, rrtype);

/** Without kumo.dns wired in there are no named resolvers. */
const nodeProvider: AuthResolverProvider = (resolverName) => {
  if (resolverName !== undefined) throw new Error(`resolver ${resolverName} is not defined`);
  return nodeResolver;
};

let provider: AuthResolverProvider = nodeProvider;

/** The resolver authentication lookups use now. */
export function authResolver(resolverName?: string): DnsResolveFunction {
  return provider(resolverName);
}

/** Replaces the resolvers for every later lookup (the daemon wires kumo.dns here). */
export function setAuthResolverProvider(next: AuthResolverProvider): void {
  provider = next;
}

/** Back to node:dns (tests that replaced the provider restore it). */
export function resetAuthResolverProvider(): void {
  provider = nodeProvider;
}

/** A DNS error the way node reports it, so mailauth classifies it (none vs temperror). */
export function dnsError(code: 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'ETIMEOUT', name: string): Error & { code: string } {
  return Object.assign(new Error(`${code} ${name}`), { code });
}
