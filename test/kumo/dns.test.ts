import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorOf, newLua } from '../helpers/lua.ts';
import { DnsService, processDns } from '../../src/dns/service.ts';
import { DNS_SERVICE } from '../../src/kumo/dns.ts';

const SHOP = `
$ORIGIN a.test.
@    300 IN MX 20 MX2.a.test.
         IN MX 10 mx1
         IN MX 10 mx0.a.test.
mx0  300 IN A 127.0.0.3
mx1  300 IN A 127.0.0.1
mx2      IN A 127.0.0.2
bare 300 IN A 192.0.2.10
     300 IN AAAA 2001:db8::10
alias    IN CNAME bare
txt      IN TXT "v=spf1 " "ip4:127.0.0.0/8" " -all"
         IN TXT "second"
nodata   IN TXT "only text"
broken   IN A 192.0.2.99
`;

const REVERSE = `
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 60
5 PTR host.a.test.
`;

const RBL = `
$ORIGIN rbl.test.
$TTL 60
2.0.0.127 A 127.0.0.2
2.0.0.127 TXT "listed: " "spam source"
`;

async function withZones(extra = '') {
  const t = newLua();
  await t.eval(`kumo.dns.configure_test_resolver { zones = { [[${SHOP}]], [[${REVERSE}]], [[${RBL}]] }, servfail = { 'broken.a.test' } } ${extra}`);
  return t;
}

describe('kumo.dns.lookup_mx with the test resolver', () => {
  it('lists hosts by preference then name, lower-case with trailing dot (§14.35)', async () => {
    const t = await withZones();
    const mx = (await t.eval(`return kumo.dns.lookup_mx('A.test')`)) as Record<string, unknown>;
    expect(mx.hosts).toEqual(['mx0.a.test.', 'mx1.a.test.', 'mx2.a.test.']);
    expect(mx.domain_name).toBe('a.test.');
    expect(mx.is_mx).toBe(true);
    expect(mx.is_domain_literal).toBe(false);
    expect(mx.mta_sts).toBe('None');
    expect(await t.eval(`local mx = kumo.dns.lookup_mx('a.test') return { mx.by_pref[10][2], mx.by_pref[20][1], #mx.by_pref[10] }`)).toEqual(['mx1.a.test.', 'mx2.a.test.', 2]);
  });

  it('renders the site name as KumoMTA does (§14.36)', async () => {
    const t = await withZones();
    expect(await t.eval(`return kumo.dns.lookup_mx('a.test').site_name`)).toBe('(mx0|mx1|mx2).a.test');
    await t.eval(`kumo.dns.configure_test_resolver { [[
$ORIGIN a.test.
@ 300 MX 10 mx1.a.test.
@ 300 MX 20 mx2.a.test.
]] }`);
    expect(await t.eval(`return kumo.dns.lookup_mx('a.test').site_name`)).toBe('(mx1|mx2).a.test');
  });

  it('uses the domain itself as an implicit MX when there is no MX record (§14.37)', async () => {
    const t = await withZones();
    const mx = (await t.eval(`return kumo.dns.lookup_mx('bare.a.test')`)) as Record<string, unknown>;
    expect(mx.is_mx).toBe(false);
    expect(mx.hosts).toEqual(['bare.a.test.']);
    expect(mx.site_name).toBe('bare.a.test');
    expect(await t.eval(`return kumo.dns.lookup_mx('bare.a.test').by_pref[1][1]`)).toBe('bare.a.test.');
  });

  it('raises for a name outside every zone and answers a literal without DNS (§14.38)', async () => {
    const t = await withZones();
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('elsewhere.example')`))).toMatch(/^MX lookup for elsewhere\.example\. failed after .*: NXDOMAIN/);
    const mx = (await t.eval(`return kumo.dns.lookup_mx('[192.0.2.1]')`)) as Record<string, unknown>;
    expect(mx).toMatchObject({ hosts: ['192.0.2.1'], site_name: '192.0.2.1', is_domain_literal: true, is_mx: false, domain_name: '[192.0.2.1]' });
    expect((await t.eval(`return kumo.dns.lookup_mx('[IPv6:2001:db8::7]:2525')`) as Record<string, unknown>).hosts).toEqual(['[2001:db8::7]:2525']);
  });

  it('carries a port onto every host and keeps a null MX as "."', async () => {
    const t = await withZones();
    const mx = (await t.eval(`return kumo.dns.lookup_mx('a.test:2525')`)) as Record<string, unknown>;
    expect(mx.hosts).toEqual(['mx0.a.test.:2525', 'mx1.a.test.:2525', 'mx2.a.test.:2525']);
    expect(mx.site_name).toBe('(mx0|mx1|mx2).a.test:2525');
    await t.eval(`kumo.dns.configure_test_resolver { [[
$ORIGIN null.test.
@ 300 MX 0 .
]] }`);
    expect(await t.eval(`local mx = kumo.dns.lookup_mx('null.test') return { mx.hosts[1], mx.site_name }`)).toEqual(['.', '']);
  });

  it('follows a CNAME once and raises for servfail names (§14.40)', async () => {
    const t = await withZones();
    expect(await t.eval(`return kumo.dns.lookup_addr('alias.a.test')`)).toEqual(['192.0.2.10', '2001:db8::10']);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_addr('broken.a.test')`))).toMatch(/SERVFAIL/);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('broken.a.test')`))).toMatch(/^MX lookup for broken\.a\.test\. failed after .*: SERVFAIL/);
  });

  it('reports is_secure only for zones marked secure', async () => {
    const t = newLua();
    await t.eval(`kumo.dns.configure_test_resolver { { zone = [[
$ORIGIN sec.test.
@ 60 MX 10 mx.sec.test.
]], secure = true } }`);
    expect(await t.eval(`return kumo.dns.lookup_mx('sec.test').is_secure`)).toBe(true);
    await t.eval(`kumo.dns.configure_test_resolver { [[
$ORIGIN sec.test.
@ 60 MX 10 mx.sec.test.
]] }`);
    expect(await t.eval(`return kumo.dns.lookup_mx('sec.test').is_secure`)).toBe(false);
  });

  it('accepts empty tables as empty lists', async () => {
    const t = newLua();
    await t.eval(`kumo.dns.configure_test_resolver { zones = { [[${SHOP}]] }, servfail = {} }`);
    expect(await t.eval(`return kumo.dns.lookup_mx('a.test').hosts[1]`)).toBe('mx0.a.test.');
    await t.eval(`kumo.dns.configure_test_resolver {}`);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('a.test')`))).toMatch(/NXDOMAIN/);
    await t.eval(`kumo.dns.define_resolver('none', { Aggregate = {} })`);
  });

  it('raises when a zone does not parse', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`kumo.dns.configure_test_resolver { '$ORIGIN x.test.\\n@ 60 IN MX ten mx.x.test.' }`))).toMatch(/failed to parse zone 1: line 2: bad MX preference/);
  });
});

describe('other kumo.dns lookups', () => {
  it('lookup_txt joins one record\'s strings; lookup_addr of a NODATA name is empty (§14.41)', async () => {
    const t = await withZones();
    expect(await t.eval(`return kumo.dns.lookup_txt('txt.a.test')`)).toEqual(['v=spf1 ip4:127.0.0.0/8 -all', 'second']);
    expect(await t.eval(`return kumo.dns.lookup_addr('nodata.a.test')`)).toEqual([]);
    expect(await t.eval(`return kumo.dns.lookup_addr('missing.example')`)).toEqual([]);
    expect(await t.eval(`return kumo.dns.lookup_txt('missing.example')`)).toEqual([]);
  });

  it('lookup_addr honours the strategy and returns literals as given', async () => {
    const t = await withZones();
    expect(await t.eval(`return kumo.dns.lookup_addr('bare.a.test', nil, 'Ipv6Only')`)).toEqual(['2001:db8::10']);
    expect(await t.eval(`return kumo.dns.lookup_addr('bare.a.test', nil, 'Ipv4ThenIpv6')`)).toEqual(['192.0.2.10']);
    expect(await t.eval(`return kumo.dns.lookup_addr('bare.a.test', nil, 'Ipv6ThenIpv4')`)).toEqual(['2001:db8::10']);
    expect(await t.eval(`return kumo.dns.lookup_addr('[10.0.0.1]')`)).toEqual(['10.0.0.1']);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_addr('bare.a.test', nil, 'Both')`))).toMatch(/unknown variant `Both`/);
  });

  it('ptr_host and reverse_ip (§14.42), lookup_ptr', async () => {
    const t = await withZones();
    expect(await t.eval(`return kumo.dns.ptr_host('192.0.2.5')`)).toBe('5.2.0.192.in-addr.arpa');
    const v6 = (await t.eval(`return kumo.dns.reverse_ip('2001:db8::1')`)) as string;
    expect(v6.split('.')).toHaveLength(32);
    expect(v6).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    expect(await t.eval(`return kumo.dns.ptr_host('2001:db8::1')`)).toBe(`${v6}.ip6.arpa`);
    expect(await t.eval(`return kumo.dns.lookup_ptr('192.0.2.5')`)).toEqual(['host.a.test.']);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_ptr('not-an-ip')`))).toMatch(/invalid IP address/);
  });

  it('rbl_lookup: unlisted ⇒ nil, nil; listed ⇒ address and TXT (§14.43)', async () => {
    const t = await withZones();
    expect(await t.eval(`local a, b = kumo.dns.rbl_lookup('127.0.0.9', 'rbl.test') return { a == nil, b == nil }`)).toEqual([true, true]);
    expect(await t.eval(`return { kumo.dns.rbl_lookup('127.0.0.2:25', 'rbl.test') }`)).toEqual(['127.0.0.2', 'listed: spam source']);
  });
});

describe('named resolvers', () => {
  it('an unknown resolver name raises (§14.44)', async () => {
    const t = await withZones();
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('a.test', 'nope')`))).toMatch(/resolver nope is not defined/);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_txt('a.test', 'nope')`))).toMatch(/resolver nope is not defined/);
  });

  it('define_resolver with a Test config answers from its own zones', async () => {
    const t = await withZones(`kumo.dns.define_resolver('other', { Test = { [[
$ORIGIN a.test.
@ 60 MX 5 other.a.test.
]] } })`);
    expect(await t.eval(`return kumo.dns.lookup_mx('a.test', 'other').hosts`)).toEqual(['other.a.test.']);
    expect(await t.eval(`return kumo.dns.lookup_mx('a.test').hosts[1]`)).toBe('mx0.a.test.');
  });

  it('configure_resolver quotes both failures for a bad config', async () => {
    const t = newLua();
    const msg = await errorOf(t.eval(`kumo.dns.configure_resolver { bogus = 1 }`));
    expect(msg).toMatch(/as a structured config: .*as a plain config: unknown field `bogus`/);
    await t.eval(`kumo.dns.configure_resolver { name_servers = { '127.0.0.1:53' }, options = { timeout = 2, attempts = 1 } }`);
    expect(await errorOf(t.eval(`kumo.dns.configure_resolver { name_servers = { 'dns.example:53' } }`))).toMatch(/invalid name server address/);
  });
});

describe('MTA-STS test policies', () => {
  const policy = (mx: string[], mode = 'enforce') => `'version: STSv1\\nmode: ${mode}\\n${mx.map((m) => `mx: ${m}\\n`).join('')}max_age: 86400\\n'`;

  it('an enforce policy matching no MX fails resolution; matching some prunes the others (§14.45)', async () => {
    const t = await withZones(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['*.example.net'])} }`);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('a.test')`))).toMatch(/^MTA-STS enforce policy for a\.test permits none of its MX hosts \["mx0\.a\.test\.", "mx1\.a\.test\.", "mx2\.a\.test\."\]; allowed mx patterns: \["\*\.example\.net"\]/);
    await t.eval(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['mx1.a.test', 'MX2.A.TEST'])} }`);
    const mx = (await t.eval(`return kumo.dns.lookup_mx('a.test')`)) as Record<string, unknown>;
    expect(mx.hosts).toEqual(['mx1.a.test.', 'mx2.a.test.']);
    expect(mx.site_name).toBe('(mx1|mx2).a.test');
    expect(mx.mta_sts).toBe('Enforce');
    await t.eval(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['mx2.a.test'])} }`);
    expect(await t.eval(`local mx = kumo.dns.lookup_mx('a.test') return { mx.by_pref[10] == nil, mx.by_pref[20][1], #mx.hosts }`)).toEqual([true, 'mx2.a.test.', 1]);
  });

  it('a wildcard allows exactly one extra label; testing mode leaves the hosts alone', async () => {
    const t = await withZones(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['*.test'])} }`);
    expect(await errorOf(t.eval(`return kumo.dns.lookup_mx('a.test')`))).toMatch(/permits none/);
    await t.eval(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['*.a.test'])} }`);
    expect((await t.eval(`return kumo.dns.lookup_mx('a.test')`) as Record<string, unknown>).hosts).toHaveLength(3);
    await t.eval(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['nothing.example'], 'testing')} }`);
    expect(await t.eval(`local mx = kumo.dns.lookup_mx('a.test') return { #mx.hosts, mx.mta_sts }`)).toEqual([3, 'Testing']);
  });

  it('disabled MTA-STS and implicit MX ignore policies; bad policy text raises', async () => {
    const t = await withZones(`kumo.dns.configure_test_mta_sts { ['a.test'] = ${policy(['nothing.example'])}, ['bare.a.test'] = ${policy(['nothing.example'])} }`);
    expect((await t.eval(`return kumo.dns.lookup_mx('bare.a.test')`) as Record<string, unknown>).hosts).toEqual(['bare.a.test.']);
    await t.eval(`kumo.dns.set_mta_sts_enabled(false)`);
    expect((await t.eval(`return kumo.dns.lookup_mx('a.test')`) as Record<string, unknown>).hosts).toHaveLength(3);
    await t.eval(`kumo.dns.set_mta_sts_enabled(true)`);
    expect(await errorOf(t.eval(`kumo.dns.configure_test_mta_sts { ['x.test'] = 'version: STSv1\\nmode: enforce\\nmax_age: 1\\n' }`))).toMatch(/at least one mx/);
    expect(await errorOf(t.eval(`kumo.dns.configure_test_mta_sts { ['x.test'] = 'version STSv1' }`))).toMatch(/has no ':'/);
  });
});

describe('resolver knobs and resolv.conf', () => {
  it('a new policy context starts from a fresh DNS configuration', async () => {
    const first = await withZones(`kumo.dns.define_resolver('named', { Test = {} }) kumo.dns.set_mx_timeout(1)`);
    expect(await first.eval(`return kumo.dns.lookup_mx('a.test').hosts[1]`)).toBe('mx0.a.test.');
    const second = newLua();
    expect(await errorOf(second.eval(`return kumo.dns.lookup_mx('a.test', 'named')`))).toMatch(/resolver named is not defined/);
    expect(processDns.mxTimeoutMs).toBe(5000);
  });

  it('set_mx_* change the service; bad values raise', async () => {
    const t = newLua();
    const service = new DnsService();
    t.ctx.provide(DNS_SERVICE, service);
    await t.eval(`kumo.dns.set_mx_timeout('7s') kumo.dns.set_mx_negative_cache_ttl(30) kumo.dns.set_mx_concurrency_limit(4) kumo.dns.set_mta_sts_enabled(false)`);
    expect([service.mxTimeoutMs, service.mxNegativeTtlMs, service.mxConcurrencyLimit, service.mtaStsEnabled]).toEqual([7000, 30_000, 4, false]);
    expect(await errorOf(t.eval(`kumo.dns.set_mx_concurrency_limit(0)`))).toMatch(/at least 1/);
    expect(await errorOf(t.eval(`kumo.dns.set_mx_timeout('soon')`))).toMatch(/set_mx_timeout/);
    expect(await errorOf(t.eval(`kumo.dns.configure_unbound_resolver { name_servers = {} }`))).toMatch(/configure_unbound_resolver is not provided by kumo-lua/);
  });

  it('load_resolv_conf returns the plain form, which configure_resolver accepts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'resolv-')), 'resolv.conf');
    writeFileSync(path, '# comment\nnameserver 127.0.0.53\nnameserver ::1\nsearch a.test b.test\ndomain a.test\noptions ndots:2 timeout:3 attempts:4 edns0\n');
    const t = newLua();
    t.ctx.provide(DNS_SERVICE, new DnsService());
    expect(await t.eval(`return kumo.dns.load_resolv_conf('${path}')`)).toEqual({
      name_servers: ['127.0.0.53:53', '[::1]:53'], domain: 'a.test', search: ['a.test', 'b.test'], options: { ndots: 2, timeout: 3, attempts: 4, edns0: true },
    });
    await t.eval(`kumo.dns.configure_resolver(kumo.dns.load_resolv_conf('${path}'))`);
    expect(await errorOf(t.eval(`return kumo.dns.load_resolv_conf('${path}.missing')`))).toMatch(/load_resolv_conf: reading/);
  });
});
