/**
 * The one place authentication code gets DNS answers from. SPF, DMARC, DKIM
 * and ARC verification (mailauth) ask through a function shaped like node's
 * `dns.promises.resolve(name, rrtype)`: TXT answers are arrays of string
 * chunks, a missing name rejects with `code` ENOTFOUND / ENODATA, a failed
 * lookup with another code (ESERVFAIL, ETIMEOUT) and counts as temperror.
 *
 * The default is kumo.dns's resolvers (src/dns: node:dns, or the zone-text
 * resolver of `kumo.dns.configure_test_resolver`, and named resolvers); tests
 * may swap in their own with `setAuthResolverProvider`. The optional name is
 * the `opt_resolver_name` a policy passes.
 */
import { nodeResolveProvider } from '../dns/index.ts';

/** `dns.promises.resolve` as mailauth calls it: the result type depends on rrtype. */
export type DnsResolveFunction = (name: string, rrtype: string) => Promise<unknown>;

/** The resolver for a policy-given resolver name (undefined = the default one); throws for an unknown name. */
export type AuthResolverProvider = (resolverName?: string) => DnsResolveFunction;

const kumoDnsProvider: AuthResolverProvider = nodeResolveProvider;

let provider: AuthResolverProvider = kumoDnsProvider;

/** The resolver authentication lookups use now. */
export function authResolver(resolverName?: string): DnsResolveFunction {
  return provider(resolverName);
}

/** Replaces the resolvers for every later lookup (the daemon wires kumo.dns here). */
export function setAuthResolverProvider(next: AuthResolverProvider): void {
  provider = next;
}

/** Back to kumo.dns (tests that replaced the provider restore it). */
export function resetAuthResolverProvider(): void {
  provider = kumoDnsProvider;
}

/** A DNS error the way node reports it, so mailauth classifies it (none vs temperror). */
export function dnsError(code: 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'ETIMEOUT', name: string): Error & { code: string } {
  return Object.assign(new Error(`${code} ${name}`), { code });
}
