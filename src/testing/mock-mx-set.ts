/**
 * The mock MXes of one policy test. `t.smtp('mx.example.com')` starts a
 * MockMx and claims that name: MX and address lookups for it answer a
 * TEST-NET-1 address (so the policy's prohibited_hosts stay as written),
 * and connections to that address go to the mock on 127.0.0.1. Other
 * names go to the policy's DNS (src/dns, as kumo.dns configures it) when
 * the policy installed `kumo.dns.configure_test_resolver`; otherwise they
 * do not resolve: a test never reaches real DNS.
 */
import type { IpLookupStrategy, MxResolver, MxResult, SmtpServices } from '../delivery/smtp/ports.ts';
import { DnsMxResolver } from '../delivery/smtp/dns-resolver.ts';
import { processDns, TestResolver, type DnsService } from '../dns/index.ts';
import { MockMx, type MockMxOptions } from './mock-mx.ts';

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class MockMxSet {
  /** `dns`: the DNS configuration the policy's kumo.dns changes. */
  constructor(private readonly dns: () => DnsService = () => processDns) {}

  private readonly policyDns = new DnsMxResolver(() => this.dns());

  /** The policy's resolver, if it is a test resolver (hermetic); null otherwise. */
  private hermetic(): MxResolver | null {
    return this.dns().resolver() instanceof TestResolver ? this.policyDns : null;
  }

  private readonly byName = new Map<string, { mx: MockMx; ip: string }>();
  private readonly byIp = new Map<string, MockMx>();

  async add(name: string, options: MockMxOptions): Promise<MockMx> {
    const key = bare(name);
    if (this.byName.has(key)) throw new Error(`t.smtp: a mock MX for ${name} already exists in this test`);
    // No STARTTLS unless asked: the mock's certificate is self-signed, which
    // the default enable_tls = 'Opportunistic' rightly refuses.
    const mx = await new MockMx({ hostname: key, starttls: false, ...options }).start();
    const ip = `192.0.2.${this.byName.size + 1}`;
    this.byName.set(key, { mx, ip });
    this.byIp.set(ip, mx);
    return mx;
  }

  private readonly resolver: MxResolver = {
    resolveMx: async (domain: string): Promise<MxResult> => {
      const key = bare(domain);
      const policy = this.byName.has(key) ? null : this.hermetic();
      if (policy) return policy.resolveMx(domain);
      if (!this.byName.has(key)) throw new Error(`MX lookup for ${key}. failed: no mock MX (the test has no t.smtp('${key}'))`);
      return { buckets: [[`${key}.`]], isMx: false };
    },
    lookupAddr: async (host: string, strategy: IpLookupStrategy): Promise<string[]> => {
      const entry = this.byName.get(bare(host));
      const policy = entry ? null : this.hermetic();
      if (policy) return policy.lookupAddr(host, strategy);
      if (!entry || strategy === 'Ipv6Only') return [];
      return [entry.ip];
    },
  };

  services(): Partial<SmtpServices> {
    return {
      resolver: this.resolver,
      redirect: (ip) => {
        const mx = this.byIp.get(ip);
        return mx ? { ip: '127.0.0.1', port: mx.port } : null;
      },
    };
  }

  async stopAll(): Promise<void> {
    for (const { mx } of this.byName.values()) await mx.stop().catch(() => undefined);
  }
}
