import type { IpLookupStrategy, MxResolver, MxResult } from '../../../src/delivery/smtp/ports.ts';
import { lookupByStrategy } from '../../../src/delivery/smtp/node-resolver.ts';

/** An in-memory MxResolver: MX buckets or an error text per domain, A/AAAA per host. */
export class MemoryResolver implements MxResolver {
  mxQueries: string[] = [];
  constructor(
    public mx: Record<string, string[][] | { error: string } | { implicit: true }> = {},
    public a: Record<string, string[]> = {},
    public aaaa: Record<string, string[]> = {},
  ) {}

  async resolveMx(domain: string): Promise<MxResult> {
    this.mxQueries.push(domain);
    const entry = this.mx[domain];
    const fq = domain.endsWith('.') ? domain : `${domain}.`;
    if (!entry || 'implicit' in entry) return { buckets: [[fq]], isMx: false };
    if ('error' in entry) throw new Error(entry.error);
    return { buckets: entry, isMx: true };
  }

  lookupAddr(host: string, strategy: IpLookupStrategy): Promise<string[]> {
    const h = host.replace(/\.$/, '');
    return lookupByStrategy(strategy, async (v6) => (v6 ? this.aaaa : this.a)[h] ?? []);
  }
}
