/**
 * The mock MXes of one policy test. `t.smtp('mx.example.com')` starts a
 * MockMx and claims that name: MX and address lookups for it answer a
 * TEST-NET-1 address (so the policy's prohibited_hosts stay as written),
 * and connections to that address go to the mock on 127.0.0.1. Names
 * nobody claimed do not resolve: a test never reaches real DNS.
 */
import type { IpLookupStrategy, MxResolver, MxResult, SmtpServices } from '../delivery/smtp/ports.ts';
import { MockMx, type MockMxOptions } from './mock-mx.ts';

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class MockMxSet {
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
      if (!this.byName.has(key)) throw new Error(`MX lookup for ${key}. failed: no mock MX (the test has no t.smtp('${key}'))`);
      return { buckets: [[`${key}.`]], isMx: false };
    },
    lookupAddr: async (host: string, strategy: IpLookupStrategy): Promise<string[]> => {
      const entry = this.byName.get(bare(host));
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
