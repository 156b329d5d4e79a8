import { describe, expect, it } from 'vitest';
import { DnsService } from '../../src/dns/service.ts';
import { TestResolver } from '../../src/dns/test-resolver.ts';
import { nodeCompatibleResolve } from '../../src/dns/node-compat.ts';
import { lookupTlsa } from '../../src/dns/lookups.ts';
import type { DNSResolver } from 'mailauth';

const ZONE = `$ORIGIN c.test.
$TTL 60
@        MX 10 mx.c.test.
mx       A 192.0.2.1
mx       AAAA 2001:db8::1
@        TXT "v=spf1 " "-all"
www      CNAME mx.c.test.
_25._tcp.mx TLSA 3 1 1 ABCDEF
`;

const service = new DnsService(undefined, new TestResolver({ zones: [{ text: ZONE, secure: false }, { text: '$ORIGIN 2.0.192.in-addr.arpa.\n1 60 PTR mx.c.test.', secure: false }], servfail: ['bad.c.test'] }));
const resolve = nodeCompatibleResolve(service);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return undefined;
}

describe('node:dns-compatible resolve', () => {
  it('returns node shapes for every record type', async () => {
    expect(await resolve('c.test', 'MX')).toEqual([{ exchange: 'mx.c.test', priority: 10 }]);
    expect(await resolve('mx.c.test', 'A')).toEqual(['192.0.2.1']);
    expect(await resolve('mx.c.test')).toEqual(['192.0.2.1']);
    expect(await resolve('mx.c.test', 'AAAA')).toEqual(['2001:db8::1']);
    expect(await resolve('c.test', 'TXT')).toEqual([['v=spf1 ', '-all']]);
    expect(await resolve('www.c.test', 'CNAME')).toEqual(['mx.c.test']);
    expect(await resolve('www.c.test', 'A')).toEqual(['192.0.2.1']);
    expect(await resolve('1.2.0.192.in-addr.arpa', 'PTR')).toEqual(['mx.c.test']);
  });

  it('fails with the error codes mailauth checks', async () => {
    expect(await codeOf(resolve('nowhere.example', 'TXT'))).toBe('ENOTFOUND');
    expect(await codeOf(resolve('mx.c.test', 'TXT'))).toBe('ENODATA');
    expect(await codeOf(resolve('bad.c.test', 'TXT'))).toBe('ESERVFAIL');
  });
});

describe('lookupTlsa', () => {
  it('returns TLSA records of the test zones with their secure flag', async () => {
    expect(await lookupTlsa('_25._tcp.mx.c.test', undefined, service)).toEqual({ records: [{ usage: 3, selector: 1, matchingType: 1, data: 'abcdef' }], secure: false });
  });
});

describe('mailauth with the node:dns-compatible resolve', () => {
  it('evaluates SPF against test zones without the network', async () => {
    const { spf } = await import('mailauth/lib/spf/index.js');
    const zones = new DnsService(undefined, new TestResolver({
      zones: [{ text: '$ORIGIN spf.test.\n@ 60 TXT "v=spf1 ip4:192.0.2.0/24 a:mx.spf.test -all"\nmx 60 A 198.51.100.7\n', secure: false }],
      servfail: [],
    }));
    // mailauth's DNSResolver type omits MX objects, which it does use at runtime.
    const resolver = nodeCompatibleResolve(zones) as unknown as DNSResolver;
    const check = (ip: string) => spf({ sender: 'a@spf.test', ip, helo: 'client.test', mta: 'mx.local', resolver });
    expect((await check('192.0.2.9')).status.result).toBe('pass');
    expect((await check('198.51.100.7')).status.result).toBe('pass');
    expect((await check('203.0.113.1')).status.result).toBe('fail');
  });
});

describe('nodeResolveProvider', () => {
  it('resolves with the process default or a named resolver and rejects unknown names at once', async () => {
    const { processDns } = await import('../../src/dns/service.ts');
    const { nodeResolveProvider } = await import('../../src/dns/node-compat.ts');
    processDns.setDefaultResolver(new TestResolver({ zones: [{ text: ZONE, secure: false }], servfail: [] }));
    processDns.defineResolver('other', new TestResolver({ zones: [{ text: '$ORIGIN c.test.\n@ 60 TXT "named"\n', secure: false }], servfail: [] }));
    expect(await nodeResolveProvider()('c.test', 'TXT')).toEqual([['v=spf1 ', '-all']]);
    expect(await nodeResolveProvider('other')('c.test', 'TXT')).toEqual([['named']]);
    expect(() => nodeResolveProvider('missing')).toThrow(/resolver missing is not defined/);
  });
});
