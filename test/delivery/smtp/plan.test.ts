/** Site names, mx_list parsing, routes and connection plans (smtp-delivery.md §1). */
import { describe, expect, it } from 'vitest';
import { siteName } from '../../../src/dns/site-name.ts';
import { mxListSiteName, parseSmtpProtocol } from '../../../src/delivery/smtp/mx-list.ts';
import { buildPlan, resolveRoute } from '../../../src/delivery/smtp/mx-plan.ts';
import { parseSmtpPathOptions } from '../../../src/delivery/smtp/path-options.ts';
import { DnsMxResolver } from '../../../src/delivery/smtp/dns-resolver.ts';
import { DnsService, SystemResolver } from '../../../src/dns/index.ts';
import { VirtualClock } from '../../../src/util/clock.ts';
import { parseQueueConfig } from '../../../src/queue/queue-config.ts';
import { parseEgressPathConfig } from '../../../src/queue/egress-path-config.ts';
import { MemoryResolver } from './memory-resolver.ts';

describe('siteName (§1.5, checklist 13)', () => {
  it.each([
    [['a.mx.example.org.', 'b.mx.example.org.'], '(a|b).mx.example.org'],
    [['mx.example.org.', 'backup.mx.example.org.'], 'backup?.mx.example.org'],
    [['inbound.mail.example.net.', 'inbound.mail.example.com.'], 'inbound.mail.example.(net|com)'],
    [['mx.example.org.:2525'], 'mx.example.org:2525'],
    [['mx1.e.example.', 'mx2.e.example.'], '(mx1|mx2).e.example'],
    [['mx.e.example.', 'b.mx.e.example.'], 'b?.mx.e.example'],
    [['MX.Example.ORG.'], 'mx.example.org'],
  ])('%j → %s', (hosts, site) => {
    expect(siteName(hosts)).toBe(site);
  });
});

describe('mx_list (§1.6)', () => {
  it('labels and forms (checklist 14, 15, 18)', () => {
    const p = parseSmtpProtocol({ mx_list: ['127.0.0.1:2525', 'relay.internal', '[192.0.2.9]:26', '192.0.2.7', { name: 'relay-a', addr: '10.1.1.1:2525' }, { name: 'v6', addr: '[2001:db8::9]:2525' }, '/run/relay.sock'] });
    expect(p.mxList).toEqual([
      { kind: 'ip', label: '127.0.0.1:2525', name: '127.0.0.1:2525', ip: '127.0.0.1', port: 2525 },
      { kind: 'host', label: 'relay.internal', name: 'relay.internal', host: 'relay.internal', port: null },
      { kind: 'ip', label: '[192.0.2.9]:26', name: '[192.0.2.9]:26', ip: '192.0.2.9', port: 26 },
      { kind: 'ip', label: '192.0.2.7', name: '192.0.2.7', ip: '192.0.2.7', port: null },
      { kind: 'ip', label: '10.1.1.1:2525', name: 'relay-a', ip: '10.1.1.1', port: 2525 },
      { kind: 'ip', label: '[2001:db8::9]:2525', name: 'v6', ip: '2001:db8::9', port: 2525 },
      { kind: 'path', label: '/run/relay.sock', name: '/run/relay.sock', path: '/run/relay.sock' },
    ]);
    expect(mxListSiteName(p.mxList.slice(0, 1))).toBe('mx_list:127.0.0.1:2525');
    expect(parseSmtpProtocol({ mx_list: ['localhost:2526'] }).mxList).toEqual([{ kind: 'host', label: 'localhost:2526', name: 'localhost:2526', host: 'localhost', port: 2526 }]);
    expect(() => parseSmtpProtocol({ mx_list: ['a:b:c'] })).toThrow(/is not a host name, host:port or address/);
    expect(mxListSiteName(p.mxList.slice(4, 5))).toBe('mx_list:10.1.1.1:2525');
  });

  it('rejects an IPv6 literal with a port in string form, with the key named', () => {
    expect(() => parseQueueConfig({ protocol: { smtp: { mx_list: ['[2001:db8::1]:25'] } } })).toThrow(/protocol\.smtp\.mx_list\[1\]: "\[2001:db8::1\]:25" is a malformed literal/);
    expect(() => parseQueueConfig({ protocol: { smtp: { mx_list: [{ name: 'x' }] } } })).toThrow(/mx_list\[1\].*needs string fields/);
    expect(() => parseQueueConfig({ protocol: { smtp: { mx_list: ['[10.0.0.1'] } } })).toThrow(/missing '\]'/);
  });
});

const opts = (o: Record<string, unknown> = {}) => parseSmtpPathOptions({ prohibited_hosts: [], ...o } as never);

describe('resolveRoute and buildPlan (§1.3, §1.8)', () => {
  it('tries every address of the lowest preference first, shuffling among equals (checklist 3, 4)', async () => {
    const r = new MemoryResolver({ 'example.org': [['mx1.example.org.', 'mx2.example.org.'], ['backup.example.org.']] }, { 'mx1.example.org': ['10.0.0.1'], 'mx2.example.org': ['10.0.0.2'], 'backup.example.org': ['10.0.0.9'] });
    const route = await resolveRoute(parseSmtpProtocol({}), 'example.org', r);
    expect(route.siteName).toBe('(mx1|mx2|backup).example.org');
    const firsts = new Set<string>();
    let seed = 0;
    for (let i = 0; i < 20; i++) {
      const plan = await buildPlan(route, opts(), r, () => ((seed = (seed * 9301 + 49297) % 233280) / 233280), () => {});
      if (plan.kind !== 'plan') throw new Error(plan.kind);
      expect(plan.candidates.map((c) => c.ip).slice(2)).toEqual(['10.0.0.9']);
      firsts.add(plan.candidates[0]!.ip!);
    }
    expect(firsts).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
  });

  it('mx_list keeps its order, never shuffled (checklist 16)', async () => {
    const r = new MemoryResolver({}, { 'relay.internal': ['10.0.0.5', '10.0.0.6'] });
    const route = await resolveRoute(parseSmtpProtocol({ mx_list: ['10.0.0.9', 'relay.internal', '10.0.0.1'] }), 'example.org', r);
    const plan = await buildPlan(route, opts(), r, () => 0, () => {});
    expect(plan.kind === 'plan' && plan.candidates.map((c) => c.ip)).toEqual(['10.0.0.9', '10.0.0.5', '10.0.0.6', '10.0.0.1']);
  });

  it('null MX, no addresses, prohibited, skipped (checklist 8–12)', async () => {
    const r = new MemoryResolver({ 'null.example': [['.']], 'ghost.example': [['mx.ghost.example.']], 'mixed.example': [['a.mixed.example.', 'b.mixed.example.']] }, { 'a.mixed.example': ['10.0.0.1'], 'b.mixed.example': ['127.0.0.1'] });
    const plan = async (domain: string, o = opts()) => buildPlan(await resolveRoute(parseSmtpProtocol({}), domain, r), o, r, () => 0, () => {});
    expect(await plan('null.example')).toEqual({ kind: 'null-mx' });
    expect((await resolveRoute(parseSmtpProtocol({}), 'null.example', r)).siteName).toBe('');
    expect(await plan('ghost.example')).toEqual({ kind: 'no-hosts' });
    expect(await plan('mixed.example', parseSmtpPathOptions({}))).toEqual({ kind: 'prohibited', address: 'b.mixed.example/127.0.0.1' });
    expect(await plan('mixed.example', opts({ skip_hosts: ['10.0.0.0/8', '127.0.0.1'] }))).toEqual({ kind: 'skipped' });
    const kept = await plan('mixed.example', opts({ skip_hosts: ['10.0.0.0/8'] }));
    expect(kept.kind === 'plan' && kept.candidates.map((c) => c.ip)).toEqual(['127.0.0.1']);
  });

  it('a routing domain with a port applies it to every MX host (checklist 19) and literals skip DNS', async () => {
    const r = new MemoryResolver({ 'example.org': [['mx.example.org.']] }, { 'mx.example.org': ['10.0.0.1'] });
    const route = await resolveRoute(parseSmtpProtocol({}), 'example.org:2525', r);
    expect(route.siteName).toBe('mx.example.org:2525');
    const plan = await buildPlan(route, opts(), r, () => 0, () => {});
    expect(plan.kind === 'plan' && plan.candidates[0]).toMatchObject({ name: 'mx.example.org.', ip: '10.0.0.1', port: 2525 });
    const literal = await resolveRoute(parseSmtpProtocol({}), '[192.0.2.7]:2526', r);
    expect(literal.siteName).toBe('192.0.2.7:2526');
    expect(r.mxQueries).toEqual(['example.org']);
  });

  it('NXDOMAIN surfaces the DNS layer text; localhost is an implicit MX; buckets sorted by preference then name (checklist 6, 7)', async () => {
    const r = new MemoryResolver({ 'nx.example': { error: 'none' }, 'multi.example': [['z.multi.example.'], ['B.multi.example.', 'a.multi.example.']] });
    await expect(resolveRoute(parseSmtpProtocol({}), 'nx.example', r)).rejects.toThrow('MX lookup for nx.example. failed after 0ns: NXDOMAIN');
    expect(await r.resolveMx('multi.example')).toMatchObject({ buckets: [['z.multi.example.'], ['a.multi.example.', 'b.multi.example.']], isMx: true, mtaSts: 'None' });
    // The system resolver of src/dns (what kumo.dns uses by default) never sends localhost to the network.
    const system = new DnsMxResolver(() => new DnsService(new VirtualClock(), new SystemResolver({ nameServers: [] })));
    expect(await system.resolveMx('localhost')).toMatchObject({ buckets: [['localhost.']], isMx: false });
    expect(await system.lookupAddr('localhost.', 'Ipv4Only')).toEqual(['127.0.0.1']);
  });

  it('ip_lookup_strategy (checklist 5)', async () => {
    const r = new MemoryResolver({}, { 'both.example': ['192.0.2.1'], 'v4.example': ['192.0.2.2'] }, { 'both.example': ['2001:db8::1'] });
    expect(await r.lookupAddr('both.example.', 'Ipv4AndIpv6')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(await r.lookupAddr('both.example.', 'Ipv4Only')).toEqual(['192.0.2.1']);
    expect(await r.lookupAddr('both.example.', 'Ipv6ThenIpv4')).toEqual(['2001:db8::1']);
    expect(await r.lookupAddr('v4.example.', 'Ipv6ThenIpv4')).toEqual(['192.0.2.2']);
    expect(await r.lookupAddr('v4.example.', 'Ipv6Only')).toEqual([]);
  });
});

describe('egress path SMTP options (§2)', () => {
  it('defaults and validation name the key', () => {
    const c = parseEgressPathConfig({});
    expect(c.smtp).toMatchObject({ enableTls: 'Opportunistic', smtpPort: 25, maxRecipientsPerBatch: 100, reconnectStrategy: 'ConnectNextHost', enablePipelining: true, enableRset: true });
    expect(c.smtp.prohibitedHosts.render()).toBe('{"0.0.0.0", "127.0.0.0/8", "::", "::1"}');
    expect(() => parseEgressPathConfig({ enable_tls: 'Sometimes' })).toThrow(/unknown variant `Sometimes` for `enable_tls`/);
    expect(() => parseEgressPathConfig({ skip_hosts: ['not-an-ip'] })).toThrow(/`skip_hosts`: "not-an-ip" is not an IP address or CIDR block/);
    expect(() => parseEgressPathConfig({ smtp_port: 70000 })).toThrow(/smtp_port/);
    expect(() => parseEgressPathConfig({ max_recipients_per_batch: 0 })).toThrow(/max_recipients_per_batch/);
    expect(() => parseEgressPathConfig({ rustls_cipher_suites: ['bogus'] })).toThrow('`bogus` is not a valid rustls cipher suite');
  });
});
