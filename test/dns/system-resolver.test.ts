import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemResolver } from '../../src/dns/system-resolver.ts';
import { DnsService } from '../../src/dns/service.ts';
import { resolveMx } from '../../src/dns/mx.ts';
import { lookupAddr, lookupTxt } from '../../src/dns/lookups.ts';
import { startDnsServer, type LocalDnsServer } from '../helpers/dns-server.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { DNS_SERVICE } from '../../src/kumo/dns.ts';

const ZONE = `$ORIGIN real.test.
$TTL 60
@     MX 10 mx1.real.test.
@     MX 10 mx2.real.test.
mx1   A 127.0.0.1
mx2   A 127.0.0.2
mx2   AAAA ::1
txt   TXT "abc" "def"
only-a A 192.0.2.44
`;

let server: LocalDnsServer;
beforeAll(async () => {
  server = await startDnsServer([ZONE], ['bad.real.test']);
});
afterAll(async () => {
  await server.close();
});

describe('SystemResolver (node:dns against a DNS server on 127.0.0.1)', () => {
  const service = () => new DnsService(undefined, new SystemResolver({ nameServers: [server.address], timeoutMs: 1000, attempts: 1 }));

  it('resolves MX, A, AAAA and TXT through node:dns', async () => {
    const dns = service();
    const mx = await resolveMx('Real.Test', undefined, dns);
    expect(mx.hosts).toEqual(['mx1.real.test.', 'mx2.real.test.']);
    expect(mx.site_name).toBe('(mx1|mx2).real.test');
    expect(mx.is_secure).toBe(false);
    expect(await lookupAddr('mx2.real.test', undefined, 'Ipv4AndIpv6', dns)).toEqual(['127.0.0.2', '::1']);
    expect(await lookupTxt('txt.real.test', undefined, dns)).toEqual(['abcdef']);
    expect(server.queries).toContain('MX real.test');
  });

  it('maps NXDOMAIN, NODATA and SERVFAIL as the test resolver does', async () => {
    const dns = service();
    expect(await errorOf(resolveMx('nowhere.example', undefined, dns))).toMatch(/^MX lookup for nowhere\.example\. failed after .*: NXDOMAIN$/);
    const implicit = await resolveMx('only-a.real.test', undefined, dns);
    expect(implicit).toMatchObject({ is_mx: false, hosts: ['only-a.real.test.'] });
    expect(await lookupAddr('txt.real.test', undefined, 'Ipv4AndIpv6', dns)).toEqual([]);
    expect(await errorOf(lookupAddr('bad.real.test', undefined, 'Ipv4Only', dns))).toMatch(/SERVFAIL/);
  });

  it('caches MX answers of the default resolver until they expire', async () => {
    const dns = service();
    const before = server.queries.filter((q) => q === 'MX real.test').length;
    await resolveMx('real.test', undefined, dns);
    await resolveMx('real.test', undefined, dns);
    expect(server.queries.filter((q) => q === 'MX real.test').length).toBe(before + 1);
  });

  it('answers localhost and /etc/hosts names without asking the server; MX of localhost is implicit', async () => {
    const dns = service();
    const before = server.queries.length;
    expect(await lookupAddr('localhost', undefined, 'Ipv4Only', dns)).toEqual(['127.0.0.1']);
    expect(await lookupAddr('LOCALHOST.', undefined, 'Ipv6Only', dns)).toEqual(['::1']);
    expect(await resolveMx('localhost:2525', undefined, dns)).toMatchObject({ hosts: ['localhost.:2525'], is_mx: false, site_name: 'localhost:2525' });
    expect(server.queries.length).toBe(before);
    const noHosts = new DnsService(undefined, new SystemResolver({ nameServers: [server.address], timeoutMs: 1000, attempts: 1, useHostsFile: false }));
    expect(await lookupAddr('mx1.real.test', undefined, 'Ipv4Only', noHosts)).toEqual(['127.0.0.1']);
  });

  it('kumo.dns.configure_resolver uses the given name servers', async () => {
    const t = newLua();
    t.ctx.provide(DNS_SERVICE, new DnsService());
    // The service is read per call, so providing it after the module was built still counts.
    await t.eval(`kumo.dns.configure_resolver { name_servers = { '${server.address}' }, options = { timeout = 1, attempts = 1 } }`);
    expect(await t.eval(`return kumo.dns.lookup_mx('real.test').hosts`)).toEqual(['mx1.real.test.', 'mx2.real.test.']);
    await t.eval(`kumo.dns.define_resolver('local', { Hickory = { name_servers = { { socket_addr = '${server.address}', protocol = 'udp' } } } })`);
    expect(await t.eval(`return kumo.dns.lookup_addr('mx1.real.test', 'local')`)).toEqual(['127.0.0.1']);
  });
});
