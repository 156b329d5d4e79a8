import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

describe('what kumo-lua does not provide fails with one clear sentence', () => {
  it('a whole module: any function of kumo.nats names itself', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.nats.connect { servers = { '127.0.0.1:4222' } }"))).toMatch(/^kumo\.nats\.connect is not provided by kumo-lua/);
    // KumoMTA's rspamd integration test policy calls this from smtp_server_data.
    expect(await errorOf(t.eval("kumo.rspamd.scan_message({ base_url = 'http://127.0.0.1:11333' }, nil)"))).toMatch(/^kumo\.rspamd\.scan_message is not provided by kumo-lua/);
  });

  it('part of a module: kumo.aaa ACL functions and kumo.api.inject', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.aaa.query_resource_access('r', {}, 'GET')"))).toMatch(/^kumo\.aaa\.query_resource_access is not provided by kumo-lua/);
    expect(await t.eval('return type(kumo.aaa.make_access_control_list)')).toBe('function');
    expect(await t.eval('return { type(kumo.api.inject.inject_v1), type(kumo.api.inject.build_v1) }')).toEqual(['function', 'function']);
    expect(await t.eval('return type(kumo.aaa.configure_acct_log)')).toBe('function');
  });

  it('DMARC aggregate reporting functions name themselves; check_msg stays real', async () => {
    const t = newLua();
    expect(await errorOf(t.eval('kumo.dmarc.start_dmarc_reporter()'))).toMatch(/^kumo\.dmarc\.start_dmarc_reporter is not provided by kumo-lua \(see the "Not provided" list in its README\)/);
    expect(await errorOf(t.eval('kumo.dmarc.set_report_window_in_seconds(4)'))).toMatch(/^kumo\.dmarc\.set_report_window_in_seconds is not provided by kumo-lua/);
    expect(await t.eval('return type(kumo.dmarc.check_msg)')).toBe('function');
  });

  it('kumo.api never returns a function for a key; its admin tables are real', async () => {
    const t = newLua();
    expect(await t.eval('return { type(kumo.api.admin), type(kumo.api.admin.bounce), type(kumo.api.nonsense) }')).toEqual(['table', 'table', 'nil']);
  });

  it('probing a real function inside pcall gives its own error, not a not-provided one', async () => {
    const t = newLua();
    expect(await t.eval("return select(2, pcall(kumo.make_egress_source, { name = 'a', x = 1 }))")).toMatch(/unknown field `x`/);
    expect(await t.eval('return kumo.something_unknown == nil')).toBe(true);
  });
});
