import { describe, expect, it } from 'vitest';
import { newLua, errorOf } from '../helpers/lua.ts';

/** PTR/A answers for iprev from a table (the helper's DNS edge). */
const FAKE_DNS = `
  local kumo = require 'kumo'
  local PTR = { ['192.0.2.1'] = { 'good.test.' }, ['192.0.2.2'] = { 'liar.test.' }, ['192.0.2.3'] = {} }
  local A = { ['good.test.'] = { '192.0.2.1' }, ['liar.test.'] = { '192.0.2.99' } }
  rawset(kumo.dns, 'lookup_ptr', function(ip) return PTR[ip] or error('SERVFAIL for ' .. ip) end)
  rawset(kumo.dns, 'lookup_addr', function(name) return A[name] or {} end)
  mail_auth = require 'policy-extras.mail_auth'
`;

describe('policy-extras.mail_auth', () => {
  it('iprev: pass when a PTR name resolves back, fail when none does, permerror without PTR, temperror on errors', async () => {
    const t = newLua();
    await t.load(FAKE_DNS);
    expect(await t.eval(`local r = mail_auth.iprev('192.0.2.1') return { r.result, r.reason, r.props['smtp.remote-ip'] }`)).toEqual(['pass', 'ip 192.0.2.1 <-> good.test.', '192.0.2.1']);
    expect(await t.eval(`return mail_auth.iprev('192.0.2.2').result`)).toBe('fail');
    expect(await t.eval(`return mail_auth.iprev('192.0.2.3').result`)).toBe('permerror');
    expect(await t.eval(`return mail_auth.iprev('192.0.2.4').result`)).toBe('temperror');
    expect(await t.eval(`
      local msg = kumo.make_message('s@example.com', 'r@example.net', 'Subject: x\\r\\n\\r\\nb\\r\\n')
      msg:set_meta('received_from', '192.0.2.1:5555')
      return mail_auth.iprev_msg(msg).result
    `)).toBe('pass');
  });

  it('check rejects unknown config keys', async () => {
    const t = newLua();
    await t.load(FAKE_DNS);
    expect(await errorOf(t.eval(`mail_auth.check(kumo.make_message('s@a.test', 'r@b.test', 'x'), { dkmi = false })`))).toMatch(/unknown key `dkmi`/);
  });

  it('check runs every method and prepends Authentication-Results (needs kumo.spf/dmarc, dkim_verify, arc_verify from auth and kumo.dns from dns)', async () => {
    const t = newLua();
    const r = await t.eval(`
      kumo.dns.configure_test_resolver { [[
$ORIGIN a.test.
@ 300 IN TXT "v=spf1 -all"
]] }
      local mail_auth = require 'policy-extras.mail_auth'
      local msg = kumo.make_message('s@a.test', 'r@b.test', 'From: <s@a.test>\\r\\nSubject: x\\r\\n\\r\\nb\\r\\n')
      msg:set_meta('received_from', '192.0.2.1:5555')
      msg:set_meta('authn_id', 'scott')
      local direct_spf = kumo.spf.check_msg(msg).result.result
      local out = mail_auth.check(msg, { iprev = false, arc = false, server_id = 'mx.test' })
      return { out.dkim[1].result, out.spf.result == direct_spf, out.smtp_auth.result, out.smtp_auth.props['smtp.auth'], msg:get_first_named_header_value 'Authentication-Results', out.dmarc.method, #out.auth_results }
    `) as unknown[];
    expect(r.slice(0, 4)).toEqual(['none', true, 'pass', 'scott']);
    expect(r[4]).toMatch(/^mx\.test;/);
    expect(r[4]).toMatch(/auth=pass/);
    expect(r.slice(5)).toEqual(['dmarc', 4]);
  });

  it('DMARC runs only with dkim, spf and dmarc all on; server_id falls back to meta hostname, then localhost; the header can be left off', async () => {
    const t = newLua();
    await t.load(FAKE_DNS);
    const r = await t.eval(`
      local function msg() return kumo.make_message('s@a.test', 'r@b.test', 'From: <s@a.test>\\r\\nSubject: x\\r\\n\\r\\nb\\r\\n') end
      local off = { dkim = false, spf = false, iprev = false, arc = false }
      local m1 = msg()
      local r1 = mail_auth.check(m1, off)
      local m2 = msg()
      m2:set_meta('hostname', 'mx.example')
      mail_auth.check(m2, off)
      local m3 = msg()
      off.add_auth_results_header = false
      mail_auth.check(m3, off)
      return { r1.dmarc == nil, #r1.auth_results, m1:get_first_named_header_value 'Authentication-Results',
        m2:get_first_named_header_value 'Authentication-Results', m3:get_first_named_header_value('Authentication-Results') or false }
    `) as unknown[];
    expect(r.slice(0, 2)).toEqual([true, 1]);
    expect(r[2]).toMatch(/^localhost;/);
    expect(r[3]).toMatch(/^mx\.example;/);
    expect(r[4]).toBe(false);
  });
});
