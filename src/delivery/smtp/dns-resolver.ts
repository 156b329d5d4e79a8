/**
 * SMTP delivery's MX and address lookups, answered by src/dns: the same
 * resolver, cache and MTA-STS policies the policy's `kumo.dns` configures
 * (`configure_resolver`, `configure_test_resolver`, `configure_test_mta_sts`,
 * the MX knobs). `localhost` and /etc/hosts are src/dns's business too.
 */
import { lookupAddr, processDns, resolveMx, type DnsService } from '../../dns/index.ts';
import type { IpLookupStrategy, MxResolver, MxResult } from './ports.ts';

export class DnsMxResolver implements MxResolver {
  /** `dns` is read per lookup, so a policy that reconfigures kumo.dns later is followed. */
  constructor(private readonly dns: () => DnsService = () => processDns) {}

  async resolveMx(domain: string): Promise<MxResult> {
    const r = await resolveMx(domain, undefined, this.dns());
    const buckets = Object.keys(r.by_pref).map(Number).sort((a, b) => a - b).map((pref) => [...r.by_pref[pref]!]);
    return { buckets, isMx: r.is_mx, isSecure: r.is_secure, mtaSts: r.mta_sts };
  }

  lookupAddr(host: string, strategy: IpLookupStrategy): Promise<string[]> {
    return lookupAddr(host, undefined, strategy, this.dns());
  }
}
