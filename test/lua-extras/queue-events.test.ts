/**
 * policy-extras.queue (lua-api-more §11.2): the provider lookup behind
 * get_queue_config, the scheduling header, the campaign throttle (built with
 * the tenant's spec, as KumoMTA does), skip_queue_config_hook, and the
 * egress_pool check against policy-extras.sources. The data-file rules are
 * in queue.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';
import { fire, MISSING_APIS_PRELUDE } from '../helpers/lua-extras.ts';

async function helper(data: string, before = '', setup = 'setup { DATA }') {
  const t = newLua();
  await t.load(MISSING_APIS_PRELUDE);
  await t.load(`
    local kumo = require 'kumo'
    DATA = ${data}
    ${before}
    Q = require('policy-extras.queue'):${setup}
  `);
  return t;
}

const PROVIDERS = `
  local kumo = require 'kumo'
  LOOKED_UP = {}
  kumo.dns.lookup_mx = function(domain)
    LOOKED_UP[#LOOKED_UP + 1] = domain
    if domain == 'broken.test' then error('SERVFAIL') end
    return { site_name = 'mx.' .. domain }
  end
  kumo.invoke_get_egress_path_config = function(domain, source, site)
    if site == 'mx.inbox.bigmail.test' then return { provider_name = 'bigmail' } end
    return {}
  end
`;

describe('policy-extras.queue provider lookup', () => {
  it('resolve_provider asks shaping for routing_domain or domain at its MX site; errors and no provider give nil', async () => {
    const t = await helper('{}', PROVIDERS);
    expect(await t.eval(`return require('policy-extras.queue'):resolve_provider('inbox.bigmail.test')`)).toBe('bigmail');
    expect(await t.eval(`return require('policy-extras.queue'):resolve_provider('other.test', 'inbox.bigmail.test')`)).toBe('bigmail');
    expect(await t.eval(`return require('policy-extras.queue'):resolve_provider('plain.test') or false`)).toBe(false);
    expect(await t.eval(`return require('policy-extras.queue'):resolve_provider('broken.test') or false`)).toBe(false);
  });

  it('get_queue_config fills provider_name from it unless the data sets one', async () => {
    const t = await helper(`{ queue = { ['fixed.test'] = { provider_name = 'mine' } } }`, PROVIDERS);
    await t.load(`D1, D2, NONE = 'inbox.bigmail.test', 'fixed.test', nil`);
    expect((await fire(t, 'get_queue_config', ['D1', 'NONE', 'NONE', 'NONE'])).value).toMatchObject({ provider_name: 'bigmail' });
    expect((await fire(t, 'get_queue_config', ['D2', 'NONE', 'NONE', 'NONE'])).value).toMatchObject({ provider_name: 'mine' });
    expect(await t.eval('return LOOKED_UP')).toEqual(['inbox.bigmail.test']);
  });

  it('skip_queue_config_hook leaves get_queue_config to the policy', async () => {
    const t = await helper(`{ tenant = { t = {} } }`, '', 'setup_with_options { file_names = { DATA }, skip_queue_config_hook = true }');
    await t.load(`D = 'a.test'`);
    expect((await fire(t, 'get_queue_config', ['D', 'nil', 'nil', 'nil'])).handled).toBe(false);
    expect(await t.eval(`return Q:resolve_config('a.test', 't').refresh_strategy`)).toBe('Epoch');
  });
});

describe('policy-extras.queue apply and throttles', () => {
  it('apply imports the scheduling header and removes it', async () => {
    const t = await helper(`{ scheduling_header = 'X-Schedule' }`);
    const r = await t.eval(`
      local msg = kumo.make_message('a@example.com', 'b@x.test', 'X-Schedule: {"expires": "2099-01-01T00:00:00Z"}\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n')
      Q:apply(msg)
      return { msg:get_first_named_header_value('X-Schedule') or false, msg:get_meta('tenant') or false }
    `);
    expect(r).toEqual([false, false]);
  });

  it('apply removes the campaign header when asked', async () => {
    const t = await helper(`{ campaign_header = 'X-Campaign', remove_campaign_header = true }`);
    const r = await t.eval(`
      local msg = kumo.make_message('a@example.com', 'b@x.test', 'X-Campaign: spring\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n')
      Q:apply(msg)
      return { msg:get_meta 'campaign', msg:get_first_named_header_value('X-Campaign') or false }
    `);
    expect(r).toEqual(['spring', false]);
  });

  it('the campaign throttle is named per tenant and campaign and built with the tenant spec (KumoMTA quirk)', async () => {
    const t = await helper(
      `{ tenant = { t = { overall_max_message_rate = '10/h', campaigns = { c = { overall_max_message_rate = '999/h' } } } } }`,
      `THROTTLES = {}
       kumo.make_throttle = function(name, spec)
         THROTTLES[#THROTTLES + 1] = { name, spec }
         return { delay_message_if_throttled = function() return false end }
       end`,
    );
    await t.load(`local kumo = require 'kumo' M = kumo.make_message('a@example.com', 'b@x.test', 'Subject: x\\r\\n\\r\\nb\\r\\n') M:set_meta('tenant', 't') M:set_meta('campaign', 'c')`);
    await fire(t, 'throttle_insert_ready_queue', ['M']);
    expect(await t.eval('return THROTTLES')).toEqual([
      ['queue-helper-tenant-overall_max_message_rate-t', '10/h'],
      ['queue-helper-tenant-campaign-overall_max_message_rate-t-c', '10/h'],
    ]);
  });
});

describe('policy-extras.queue validation with policy-extras.sources', () => {
  const SOURCES = `require('policy-extras.sources'):setup { { source = { a = { source_address = '192.0.2.1' } }, pool = { known = { a = {} } } } }`;

  it('an egress_pool the sources helper does not define fails validation; defined pools pass', async () => {
    const bad = await helper(`{ tenant = { t = { egress_pool = 'ghost' } }, queue = { ['x.test'] = { egress_pool = 'known' } } }`, SOURCES);
    await fire(bad, 'validate_config', []);
    expect(bad.ctx.validationFailed).toBe(true);
    expect(bad.printed.join('\n')).toMatch(/tenant t uses egress_pool "ghost", which policy-extras.sources does not define/);
    expect(bad.printed.join('\n')).not.toMatch(/known/);
    const good = await helper(`{ tenant = { t = { egress_pool = 'known' } } }`, SOURCES);
    await fire(good, 'validate_config', []);
    expect(good.printed).toEqual([]);
    expect(good.ctx.validationFailed).toBe(false);
  });
});
