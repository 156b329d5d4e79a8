import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';

describe('kumo.invoke_get_* (§3.10)', () => {
  it('invoke_get_egress_path_config without a handler returns the defaults (checklist 33)', async () => {
    const t = newLua();
    const c = (await t.eval("return kumo.invoke_get_egress_path_config('example.com', 'unspecified', 'example.com')")) as Record<string, unknown>;
    expect(c).toMatchObject({ connection_limit: 32, max_deliveries_per_connection: 1024, refresh_strategy: 'Ttl', idle_timeout: '5s', data_timeout: '5m' });
    expect(await t.eval("return type(kumo.invoke_get_egress_path_config('a', 'b', 'c').provider_name)")).toBe('userdata');
  });

  it('invoke_get_egress_path_config passes the three arguments to the handler; nil means defaults', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('get_egress_path_config', function(domain, source, site)
        if domain == 'none.test' then return nil end
        return kumo.make_egress_path { connection_limit = 'local:3', provider_name = domain .. '/' .. source .. '/' .. site, enable_tls = 'Required' }
      end)
    `);
    expect(await t.eval("return kumo.invoke_get_egress_path_config('a.test', 'vmta', 'mx.a.test')")).toMatchObject({
      connection_limit: 'local:3', provider_name: 'a.test/vmta/mx.a.test', enable_tls: 'Required',
    });
    expect(await t.eval("return kumo.invoke_get_egress_path_config('none.test', 'v', 's').connection_limit")).toBe(32);
  });

  it('invoke_get_queue_config parses the queue name and fires get_queue_config', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('get_queue_config', function(domain, tenant, campaign, routing)
        return kumo.make_queue_config { egress_pool = table.concat({ domain, tenant, campaign, routing }, '|'), max_age = '2 days' }
      end)
    `);
    expect(await t.eval("local c = kumo.invoke_get_queue_config('camp:ten@example.com!relay.test') return { c.egress_pool, c.max_age }")).toEqual(['example.com|ten|camp|relay.test', '2days']);
  });
});
