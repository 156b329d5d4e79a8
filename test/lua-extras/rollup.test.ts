import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';

/** Answers lookup_mx / lookup_addr from a table (the helper's DNS edge). */
const FAKE_DNS = `
  local kumo = require 'kumo'
  local MX = {
    ['o.test'] = { hosts = { 'a.mail.outlook.test.', 'b.mail.outlook.test.' }, by_pref = { [10] = { 'a.mail.outlook.test.' }, [20] = { 'b.mail.outlook.test.' } } },
    ['mixed.test'] = { hosts = { 'a.mail.outlook.test.', 'mx.other.test.' }, by_pref = { [10] = { 'a.mail.outlook.test.' }, [20] = { 'mx.other.test.' } } },
  }
  local ADDR = { ['a.mail.outlook.test'] = { '192.0.2.9', '192.0.2.1' } }
  rawset(kumo.dns, 'lookup_mx', function(d) return MX[d] or error('MX lookup for ' .. d .. ' failed: NXDOMAIN') end)
  rawset(kumo.dns, 'lookup_addr', function(h) return ADDR[h] or {} end)
  rollup = require 'policy-extras.rollup'
  function routed(rcpt, fn, suffixes)
    local msg = kumo.make_message('s@example.com', rcpt, 'Subject: x\\r\\n\\r\\nb\\r\\n')
    rollup[fn](msg, suffixes)
    return msg:get_meta 'routing_domain' or false
  end
`;

const fresh = async () => {
  const t = newLua();
  await t.load(FAKE_DNS);
  return t;
};

describe('policy-extras.rollup', () => {
  it('reroute_based_on_mx_host_suffix: every MX host must match; equal to the domain leaves it alone; errors are printed', async () => {
    const t = await fresh();
    const suffixes = `{ ['.mail.outlook.test'] = 'outlook.rollup' }`;
    expect(await t.eval(`return routed('u@o.test', 'reroute_based_on_mx_host_suffix', ${suffixes})`)).toBe('outlook.rollup');
    expect(await t.eval(`return routed('u@mixed.test', 'reroute_based_on_mx_host_suffix', ${suffixes})`)).toBe(false);
    expect(await t.eval(`return routed('u@o.test', 'reroute_based_on_mx_host_suffix', { ['.mail.outlook.test'] = 'o.test' })`)).toBe(false);
    expect(await t.eval(`return routed('u@nowhere.test', 'reroute_based_on_mx_host_suffix', ${suffixes})`)).toBe(false);
    expect(t.printed.join('\n')).toMatch(/reroute_based_on_mx_host_suffix: .*nowhere\.test/);
  });

  it('reroute_using_ip_rollup tests only the first-preference hosts', async () => {
    const t = await fresh();
    expect(await t.eval(`return routed('u@mixed.test', 'reroute_using_ip_rollup', { ['.mail.outlook.test'] = 'outlook.ip_rollup' })`)).toBe('outlook.ip_rollup');
    expect(await t.eval(`return routed('u@mixed.test', 'reroute_using_ip_rollup', { ['.nope.test'] = 'x.ip_rollup' })`)).toBe(false);
  });

  it('apply_ip_rollup_to_queue_config pins the first-preference hosts by sorted address; other routing domains pass through', async () => {
    const t = await fresh();
    expect(await t.eval(`return rollup.apply_ip_rollup_to_queue_config('mixed.test', 'outlook.ip_rollup', { max_age = '1h' })`)).toEqual({
      max_age: '1h',
      protocol: { smtp: { mx_list: [{ name: 'a.mail.outlook.test', addr: '192.0.2.1' }, { name: 'a.mail.outlook.test', addr: '192.0.2.9' }] } },
    });
    expect(await t.eval(`return rollup.apply_ip_rollup_to_queue_config('mixed.test', 'outlook.rollup', { max_age = '1h' })`)).toEqual({ max_age: '1h' });
  });

  it('works with the real test resolver (needs kumo.dns from dns)', async () => {
    const t = newLua();
    const r = await t.eval(`
      kumo.dns.configure_test_resolver { [[
$ORIGIN r.test.
@ 300 IN MX 10 mx1.hosted.test.
@ 300 IN MX 20 mx2.hosted.test.
]], [[
$ORIGIN hosted.test.
mx1 300 IN A 192.0.2.20
mx2 300 IN A 192.0.2.21
]] }
      local rollup = require 'policy-extras.rollup'
      local msg = kumo.make_message('s@example.com', 'u@r.test', 'Subject: x\\r\\n\\r\\nb\\r\\n')
      rollup.reroute_based_on_mx_host_suffix(msg, { ['.hosted.test'] = 'hosted.rollup' })
      return { msg:get_meta 'routing_domain', rollup.apply_ip_rollup_to_queue_config('r.test', 'h.ip_rollup', {}).protocol.smtp.mx_list }
    `);
    expect(r).toEqual(['hosted.rollup', [{ name: 'mx1.hosted.test', addr: '192.0.2.20' }]]);
  });
});
