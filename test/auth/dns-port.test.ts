import { afterEach, describe, expect, it } from 'vitest';
import { authResolver, resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { errorOf } from '../helpers/lua.ts';
import { withMessage } from '../message/lua-fixture.ts';

afterEach(() => resetAuthResolverProvider());

describe('the authentication DNS port', () => {
  it('without kumo.dns wired in, a named resolver is not defined', async () => {
    expect(() => authResolver('corp')).toThrow('resolver corp is not defined');
    const f = withMessage({ meta: { received_from: '192.0.2.1:25' } });
    expect(await errorOf(f.eval(`return kumo.spf.check_msg(the_msg(), 'corp')`))).toMatch(/resolver corp is not defined/);
    expect(await errorOf(f.eval(`return the_msg():dkim_verify('corp')`))).toMatch(/resolver corp is not defined/);
  });

  it('passes the policy-given name to the installed provider', async () => {
    const asked: Array<string | undefined> = [];
    setAuthResolverProvider((name) => {
      asked.push(name);
      return async () => [['v=spf1 -all']];
    });
    const f = withMessage({ sender: 'a@example.com', meta: { received_from: '192.0.2.1:25' } });
    expect(await f.eval(`return kumo.spf.check_msg(the_msg(), 'corp').disposition`)).toBe('fail');
    expect(await f.eval(`return kumo.spf.check_msg(the_msg(), { resolver = 'other' }).disposition`)).toBe('fail');
    expect(await f.eval(`return kumo.dmarc.check_msg(the_msg(), {}, 'third', nil, false).disposition`)).toBe('None');
    expect(asked).toEqual(['corp', 'other', 'third']);
  });
});
