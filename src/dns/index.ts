/**
 * kumo-lua's DNS core. See README.md in this folder for the functions other
 * parts of kumo-lua call (resolveMx, lookupAddr, the node:dns-compatible
 * resolve) and their result types.
 */
export { processDns, DnsService, UnknownResolverError } from './service.ts';
export { resolveMx, MxResolutionError, type MxResolution, type MtaStsOutcome } from './mx.ts';
export { lookupAddr, lookupTxt, lookupPtr, lookupTlsa, rblLookup, ADDR_STRATEGIES, type AddrStrategy, type TlsaRecord } from './lookups.ts';
export { resolve, nodeCompatibleResolve, nodeResolveProvider, type NodeResolveType, type NodeResolveResult } from './node-compat.ts';
export { siteName } from './site-name.ts';
export { ptrHost, reverseIp } from './reverse.ts';
export { splitPort, parseDomainLiteral, normalizeDomain } from './names.ts';
export { TestResolver } from './test-resolver.ts';
export { SystemResolver } from './system-resolver.ts';
export { DnsQueryError, type Resolver, type DnsAnswer, type DnsRecord, type RecordType } from './types.ts';
