import { afterEach, describe, expect, it } from 'vitest';
import { withMessage } from '../message/lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { lua } from '../../src/lua/fengari.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { ConnectionMeta, ConnectionMetaClass } from '../../src/server/smtp/conn-meta.ts';
import { dnsError, resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { clientIpOf } from '../../src/kumo/spf.ts';
import { memoryResolver, type Zone } from '../auth/fixtures.ts';

const ZONE: Zone = {
  'deny.test': { TXT: ['v=spf1 -all'] },
  'soft.test': { TXT: ['v=spf1 ip4:198.51.100.0/24 ~all'] },
  'ok.test': { TXT: ['v=spf1 include:_spf.ok.test -all', 'some other text'] },
  '_spf.ok.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 a:mail.ok.test -all'] },
  'mail.ok.test': { A: ['203.0.113.9'] },
  'explained.test': { TXT: ['v=spf1 -all exp=why.%{d}'] },
  'why.explained.test': { TXT: ['%{c} may not send for %{s}'] },
  'broken.test': { TXT: ['v=spf1 bogus:x -all'] },
  'helo.test': { TXT: ['v=spf1 a -all'], A: ['192.0.2.7'] },
};

afterEach(() => resetAuthResolverProvider());

function withZone(zone: Zone = ZONE) {
  const queries: string[] = [];
  setAuthResolverProvider(() => memoryResolver(zone, queries));
  return queries;
}

function withConn(meta: Record<string, string>) {
  const t = newLua();
  const L = t.ctx.runtime.L;
  const conn = new ConnectionMeta(meta, '192.0.2.1');
  lua.lua_pushcfunction(L, (Ls: never) => (ConnectionMetaClass.push(Ls, conn), 1));
  lua.lua_setglobal(L, keyBytes('the_conn'));
  return t;
}

describe('kumo.spf.check_msg', () => {
  it('v=spf1 -all fails with smtp.mailfrom (and smtp.helo) props', async () => {
    withZone();
    const f = withMessage({ sender: 'alice@deny.test', meta: { received_from: '192.0.2.1:4321', ehlo_domain: 'client.test', hostname: 'mx.local' } });
    expect(await f.eval(`return kumo.spf.check_msg(the_msg())`)).toEqual({
      disposition: 'fail',
      result: { method: 'spf', result: 'fail', reason: "matched 'all' directive", props: { 'smtp.mailfrom': 'alice@deny.test', 'smtp.helo': 'client.test' } },
    });
  });

  it('follows include and a mechanisms; pass, softfail and none', async () => {
    withZone();
    const check = async (sender: string, ip: string) => {
      const f = withMessage({ sender, meta: { received_from: ip } });
      return f.eval(`local r = kumo.spf.check_msg(the_msg()); return { r.disposition, r.result.reason }`);
    };
    expect(await check('a@ok.test', '192.0.2.44:25')).toEqual(['pass', "matched 'include:_spf.ok.test' directive"]);
    expect(await check('a@ok.test', '203.0.113.9:25')).toEqual(['pass', "matched 'include:_spf.ok.test' directive"]);
    expect(await check('a@ok.test', '203.0.113.10:25')).toEqual(['fail', "matched 'all' directive"]);
    expect(await check('a@soft.test', '198.51.100.3:25')).toEqual(['pass', "matched 'ip4:198.51.100.0/24' directive"]);
    expect(await check('a@soft.test', '203.0.113.10:25')).toEqual(['softfail', "matched 'all' directive"]);
    expect(await check('a@nothing.test', '203.0.113.10:25')).toEqual(['none', 'no SPF records found for nothing.test']);
    expect(await check('a@broken.test', '203.0.113.10:25')).toEqual(['permerror', 'Unknown mechanism bogus']);
  });

  it('a fail with exp= reports the expanded explanation', async () => {
    withZone();
    const f = withMessage({ sender: 'bob@explained.test', meta: { received_from: '[2001:db8::1]:25' } });
    expect(await f.eval(`return kumo.spf.check_msg(the_msg()).result.reason`)).toBe('2001:db8::1 may not send for bob@explained.test');
  });

  it('more than 10 DNS-querying terms or 2 void lookups is permerror', async () => {
    const chain: Zone = { 'loop.test': { TXT: ['v=spf1 include:l1.test -all'] } };
    for (let i = 1; i <= 11; i++) chain[`l${i}.test`] = { TXT: [`v=spf1 include:l${i + 1}.test -all`] };
    chain['l12.test'] = { TXT: ['v=spf1 +all'] };
    withZone({ ...chain, 'voids.test': { TXT: ['v=spf1 a:n1.test a:n2.test a:n3.test +all'] } });
    const check = async (sender: string) => {
      const f = withMessage({ sender, meta: { received_from: '192.0.2.1:25' } });
      return f.eval(`local r = kumo.spf.check_msg(the_msg()); return { r.disposition, r.result.reason }`);
    };
    expect(await check('a@loop.test')).toEqual(['permerror', 'too many DNS lookups']);
    expect(await check('a@voids.test')).toEqual(['permerror', 'too many void DNS lookups']);
  });

  it('a DNS failure is temperror', async () => {
    setAuthResolverProvider(() => async (name) => {
      throw dnsError('ESERVFAIL', name);
    });
    const f = withMessage({ sender: 'a@deny.test', meta: { received_from: '192.0.2.1:25' } });
    expect(await f.eval(`return kumo.spf.check_msg(the_msg()).disposition`)).toBe('temperror');
  });

  it('without received_from meta it raises', async () => {
    withZone();
    const f = withMessage({ sender: 'a@deny.test', meta: {} });
    expect(await errorOf(f.eval(`return kumo.spf.check_msg(the_msg())`))).toMatch(/no received_from/);
  });
});

describe('kumo.spf.check_host', () => {
  it('without conn meta received_from raises', async () => {
    withZone();
    const t = withConn({ hostname: 'mx.local' });
    expect(await errorOf(t.eval(`return kumo.spf.check_host('deny.test', the_conn(), 'a@deny.test')`))).toMatch(/kumo\.spf\.check_host: .*no received_from/);
    expect(await errorOf(t.eval(`return kumo.spf.check_host('deny.test', nil)`))).toMatch(/conn_meta expected/);
  });

  it('with a sender checks MAIL FROM (helo from ehlo_domain); without one checks the domain as HELO identity', async () => {
    withZone();
    const t = withConn({ received_from: '192.0.2.7:5555', ehlo_domain: 'helo.test', hostname: 'mx.local' });
    expect(await t.eval(`local r = kumo.spf.check_host('deny.test', the_conn(), 'a@deny.test'); return { r.disposition, r.result.props }`)).toEqual([
      'fail',
      { 'smtp.mailfrom': 'a@deny.test', 'smtp.helo': 'helo.test' },
    ]);
    expect(await t.eval(`local r = kumo.spf.check_host('helo.test', the_conn()); return { r.disposition, r.result.props }`)).toEqual([
      'pass',
      { 'smtp.helo': 'helo.test' },
    ]);
    // A plain table works as conn meta too.
    expect(await t.eval(`return kumo.spf.check_host('deny.test', { received_from = '192.0.2.7' }).disposition`)).toBe('fail');
  });

  it('parses received_from forms', () => {
    expect(clientIpOf('192.0.2.1:25')).toBe('192.0.2.1');
    expect(clientIpOf('[2001:db8::1]:25')).toBe('2001:db8::1');
    expect(clientIpOf('2001:db8::1')).toBe('2001:db8::1');
    expect(clientIpOf('host:25')).toBeUndefined();
  });
});

describe('SPF answers come from kumo.dns', () => {
  it('a zone given to kumo.dns.configure_test_resolver decides kumo.spf.check_msg', async () => {
    resetAuthResolverProvider();
    const f = withMessage({ sender: 'alice@zone-deny.test', meta: { received_from: '192.0.2.1:4321', ehlo_domain: 'client.test', hostname: 'mx.local' } });
    await f.eval(`kumo.dns.configure_test_resolver { [[
$ORIGIN zone-deny.test.
@ 300 TXT "v=spf1 -all"
]] }`);
    const checked = (await f.eval(`return kumo.spf.check_msg(the_msg())`)) as { disposition: string };
    expect(checked.disposition).toBe('fail');
  });
});
