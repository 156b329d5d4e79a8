/**
 * `resolve(name, rrtype)` with the shape and error codes of
 * `require('node:dns').promises.resolve`, answered by the active default
 * resolver (test zones or real DNS). mailauth (DKIM/SPF/DMARC) takes it as
 * its `resolver` option, so policy tests with a test resolver stay hermetic.
 */
import { processDns, type DnsService } from './service.ts';
import { DnsQueryError, type DnsAnswer, type RecordType } from './types.ts';

export type NodeResolveType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME' | 'NS';
export type NodeResolveResult = string[] | string[][] | Array<{ exchange: string; priority: number }>;

const SYSCALL: Record<NodeResolveType, string> = {
  A: 'queryA', AAAA: 'queryAaaa', MX: 'queryMx', TXT: 'queryTxt', PTR: 'queryPtr', CNAME: 'queryCname', NS: 'queryNs',
};

function nodeError(code: string, type: NodeResolveType, name: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException & { hostname?: string } = new Error(`${SYSCALL[type]} ${code} ${name}`);
  err.code = code;
  err.syscall = SYSCALL[type];
  err.hostname = name;
  return err;
}

const bare = (name: string): string => (name.endsWith('.') && name !== '.' ? name.slice(0, -1) : name === '.' ? '' : name);

function shape(answer: DnsAnswer, type: NodeResolveType): NodeResolveResult {
  switch (type) {
    case 'A':
    case 'AAAA':
      return answer.records.flatMap((r) => (r.type === type ? [r.address] : []));
    case 'MX':
      return answer.records.flatMap((r) => (r.type === 'MX' ? [{ exchange: bare(r.exchange), priority: r.preference }] : []));
    case 'TXT':
      return answer.records.flatMap((r) => (r.type === 'TXT' ? [r.strings] : []));
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return answer.records.flatMap((r) => (r.type === type ? [bare(r.name)] : []));
  }
}

/** Builds a node-compatible `resolve` bound to `dns` (default: the process-wide configuration). */
export function nodeCompatibleResolve(dns: DnsService = processDns, resolverName?: string) {
  // rrtype is a plain string so the function fits resolver options typed like node's (mailauth's DNSResolver).
  return async function resolve(name: string, rrtype: string = 'A'): Promise<NodeResolveResult> {
    const type = rrtype.toUpperCase() as NodeResolveType;
    if (!(type in SYSCALL)) throw nodeError('EBADQUERY', 'A', name);
    let answer: DnsAnswer;
    try {
      answer = await dns.resolver(resolverName).query(name, type as RecordType);
    } catch (err) {
      throw nodeError(err instanceof DnsQueryError && err.reason === 'SERVFAIL' ? 'ESERVFAIL' : 'ETIMEOUT', type, name);
    }
    if (answer.nxdomain) throw nodeError('ENOTFOUND', type, name);
    const result = shape(answer, type);
    if (result.length === 0) throw nodeError('ENODATA', type, name);
    return result;
  };
}

/** Drop-in for `dns.promises.resolve`, backed by the active default resolver. */
export const resolve = nodeCompatibleResolve();

/**
 * A node-compatible `resolve` for a policy-given resolver name (undefined =
 * the default resolver); throws `resolver <name> is not defined` at once for
 * an unknown name. Shaped for src/auth/dns-port.ts's `setAuthResolverProvider`.
 */
export function nodeResolveProvider(resolverName?: string): (name: string, rrtype: string) => Promise<NodeResolveResult> {
  processDns.resolver(resolverName);
  return nodeCompatibleResolve(processDns, resolverName);
}
