import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';
import { fire, MISSING_APIS_PRELUDE } from '../helpers/lua-extras.ts';

const QUEUES = `
tenant_header = "X-Tenant"
remove_tenant_header = true
campaign_header = "X-Campaign"
default_tenant = "default-tenant"

[tenant."default-tenant"]
max_age = "2 hours"

[tenant."mytenant"]
egress_pool = "pool-1"
max_age = "10 hours"
require_authz = ["scott"]

[tenant."open"]
retry_interval = "5 minutes"

[queue.default]
retry_interval = "10 minutes"

[queue."gmail.com"]
max_age = "22 hours"
retry_interval = "17 minutes"
routing_domain = "gmail.rollup"

[queue."gmail.com"."mytenant"]
max_message_rate = "1000/s"

[queue."gmail.com"."mytenant"."welcome"]
max_message_rate = "5/s"

[queue."*.example.org"]
egress_pool = "wild"
`;

function dataFile(text: string, name = 'queues.toml'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-helper-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function withHelper(text = QUEUES, extraSetup = '') {
  const file = dataFile(text);
  const t = newLua();
  await t.load(MISSING_APIS_PRELUDE);
  await t.load(`
    local kumo = require 'kumo'
    ${extraSetup}
    Q = require('policy-extras.queue'):setup { '${file}' }
  `);
  return { t, file };
}

const resolve = (d: string, tenant = 'nil', campaign = 'nil') => `return Q:resolve_config('${d}', ${tenant}, ${campaign})`;

describe('policy-extras.queue', () => {
  it('tenant max_age overrides the domain max_age; [queue.default] applies everywhere (checklist 76)', async () => {
    const { t } = await withHelper();
    expect(await t.eval(resolve('gmail.com', "'mytenant'"))).toEqual({
      refresh_strategy: 'Epoch', retry_interval: '17 minutes', max_age: '10 hours', egress_pool: 'pool-1', max_message_rate: '1000/s',
    });
    expect(await t.eval(resolve('gmail.com', "'mytenant'", "'welcome'"))).toMatchObject({ max_message_rate: '5/s' });
    expect(await t.eval(resolve('other.net'))).toEqual({ refresh_strategy: 'Epoch', retry_interval: '10 minutes' });
    expect(await t.eval(resolve('mx.example.org', "'open'"))).toEqual({ refresh_strategy: 'Epoch', retry_interval: '5 minutes', egress_pool: 'wild' });
    // routing_domain is not a queue option: resolve_config leaves it out.
    expect(await t.eval(`return Q:resolve_config('gmail.com').routing_domain`)).toBeNull();
  });

  it('get_queue_config returns the composed config and stops the chain', async () => {
    const { t } = await withHelper();
    await t.load(`DOMAIN, TENANT, CAMPAIGN, RD = 'gmail.com', 'mytenant', nil, nil`);
    const r = await fire(t, 'get_queue_config', ['DOMAIN', 'TENANT', 'CAMPAIGN', 'RD']);
    expect(r.handled).toBe(true);
    expect(r.value).toMatchObject({ egress_pool: 'pool-1', max_age: '10 hours', retry_interval: '17 minutes', refresh_strategy: 'Epoch' });
  });

  it('apply sets tenant, campaign and routing_domain meta and removes the tenant header', async () => {
    const { t } = await withHelper();
    const r = await t.eval(`
      local msg = kumo.make_message('a@example.com', 'b@gmail.com', 'X-Tenant: open\\r\\nX-Campaign: spring\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n')
      Q:apply(msg)
      return { msg:get_meta 'tenant', msg:get_meta 'campaign', msg:get_meta 'routing_domain', msg:get_first_named_header_value 'X-Tenant' or false, msg:get_first_named_header_value 'X-Campaign' }
    `);
    expect(r).toEqual(['open', 'spring', 'gmail.rollup', false, 'spring']);
    expect(await t.eval(`
      local msg = kumo.make_message('a@example.com', 'b@other.net', 'Subject: hi\\r\\n\\r\\nbody\\r\\n')
      Q:apply(msg)
      return { msg:get_meta 'tenant', msg:get_meta 'routing_domain' or false }
    `)).toEqual(['default-tenant', false]);
  });

  it('apply rejects an undefined tenant and require_authz without AUTH with 500 (checklist 77)', async () => {
    const { t } = await withHelper();
    const attempt = (headers: string, authz?: string) => t.eval(`
      local msg = kumo.make_message('a@example.com', 'b@gmail.com', '${headers}Subject: hi\\r\\n\\r\\nbody\\r\\n')
      ${authz ? `msg:set_meta('authz_id', '${authz}')` : ''}
      local ok, err = pcall(Q.apply, Q, msg)
      return ok and ('ok ' .. msg:get_meta 'tenant') or tostring(err)
    `);
    expect(await attempt('X-Tenant: nobody\\r\\n')).toMatch(/^500 tenant nobody \(from the X-Tenant header\) is not defined/);
    expect(await attempt('X-Tenant: mytenant\\r\\n')).toMatch(/^500 tenant mytenant requires SMTP AUTH/);
    expect(await attempt('X-Tenant: mytenant\\r\\n', 'mallory')).toMatch(/^500 authz_id mallory is not authorized to use tenant mytenant/);
    expect(await attempt('X-Tenant: mytenant\\r\\n', 'scott')).toBe('ok mytenant');
  });

  it('a bad option value, an unknown top-level key or a non-option at campaign level fail the load', async () => {
    expect(await errorOf(withHelper('[tenant.t]\nmax_age = true\n'))).toMatch(/tenant\.t\.max_age: .*invalid type: boolean/);
    expect(await errorOf(withHelper('bogus = 1\n'))).toMatch(/unknown top-level key "bogus"/);
    expect(await errorOf(withHelper('tenants = 1\n'))).toMatch(/tenants must be a table, got number/);
    expect(await errorOf(withHelper('[queue."a.com".t.c]\nbogus = 1\n'))).toMatch(/queue\.a\.com\.t\.c: unknown key "bogus"/);
    expect(await errorOf(withHelper('[tenant.t]\nbogus = 1\n'))).toMatch(/tenant\.t: unknown key "bogus"/);
  });

  it('takes the parsed form at the top level too: queues with explicit tenants/campaigns, tenants (as KumoMTA\'s ndr/dmarc test policies pass it)', async () => {
    const t = newLua();
    await t.load(MISSING_APIS_PRELUDE);
    await t.load(`Q = require('policy-extras.queue'):setup { {
      tenants = { acme = { max_age = '3h', campaigns = { spring = { max_message_rate = '2/s' } } } },
      queues = {
        default = { retry_interval = '2m' },
        ['a.com'] = { max_age = '1h', routing_domain = 'a.rollup', tenants = { acme = { max_message_rate = '9/s', campaigns = { spring = { max_message_rate = '1/s' } } } } },
      },
    } }`);
    expect(await t.eval(resolve('b.com'))).toEqual({ refresh_strategy: 'Epoch', retry_interval: '2m' });
    expect(await t.eval(resolve('a.com', "'acme'"))).toEqual({ refresh_strategy: 'Epoch', retry_interval: '2m', max_age: '3h', max_message_rate: '9/s' });
    expect(await t.eval(resolve('a.com', "'acme'", "'spring'"))).toMatchObject({ max_message_rate: '1/s' });
    // In the parsed form a tenant is named under `tenants`: any other non-option key is an error.
    expect(await errorOf(t.eval(`require('policy-extras.queue').parse_file { queues = { ['a.com'] = { acme = {} } } }`))).toMatch(/queues\.a\.com: unknown key "acme"/);
  });

  it('files merge recursively (later wins) and inline tables count as files', async () => {
    const first = dataFile('[queue."a.com"]\nmax_age = "1h"\nretry_interval = "1m"\n');
    const t = newLua();
    await t.load(MISSING_APIS_PRELUDE);
    await t.load(`Q = require('policy-extras.queue'):setup { '${first}', { queue = { ['a.com'] = { max_age = '2h' } } } }`);
    expect(await t.eval(resolve('a.com'))).toEqual({ refresh_strategy: 'Epoch', max_age: '2h', retry_interval: '1m' });
    expect(await errorOf(t.eval(`require('policy-extras.queue'):setup {}`))).toMatch(/queue module has already been configured/);
  });

  it('validation fails when another get_queue_config is registered after the helper (checklist 78)', async () => {
    const { t } = await withHelper(QUEUES);
    await t.load(`require('kumo').on('get_queue_config', function() end)`);
    await fire(t, 'validate_config', []);
    expect(t.ctx.validationFailed).toBe(true);
    expect(t.printed.join('\n')).toMatch(/the queue helper must register the last get_queue_config handler/);
  });

  it('validation fails for a data file outside the config monitor globs, passes inside them (checklist 78; needs eval_config_monitor_globs from egress)', async () => {
    const outside = await withHelper(QUEUES, `kumo.set_config_monitor_globs { '/nonexistent-dir/**/*.toml' }`);
    await fire(outside.t, 'validate_config', []);
    expect(outside.t.printed.join('\n')).toMatch(/queues\.toml is not matched by the config monitor globs/);
    expect(outside.t.ctx.validationFailed).toBe(true);
    const file = dataFile(QUEUES);
    const inside = newLua();
    await inside.load(MISSING_APIS_PRELUDE);
    await inside.load(`local kumo = require 'kumo'\nkumo.set_config_monitor_globs { '${path.dirname(file)}/*.toml' }\nQ = require('policy-extras.queue'):setup { '${file}' }`);
    await fire(inside, 'validate_config', []);
    expect(inside.printed).toEqual([]);
    expect(inside.ctx.validationFailed).toBe(false);
  });

  it('throttle_insert_ready_queue delays a tenant over its overall_max_message_rate (needs make_throttle from dns)', async () => {
    const { t } = await withHelper('[tenant.t]\noverall_max_message_rate = "1/h"\n');
    await t.load(`local kumo = require 'kumo'
      M1 = kumo.make_message('a@example.com', 'b@x.com', 'Subject: x\\r\\n\\r\\nb\\r\\n') M1:set_meta('tenant', 't')
      M2 = kumo.make_message('a@example.com', 'b@x.com', 'Subject: x\\r\\n\\r\\nb\\r\\n') M2:set_meta('tenant', 't')`);
    const first = await fire(t, 'throttle_insert_ready_queue', ['M1']);
    const second = await fire(t, 'throttle_insert_ready_queue', ['M2']);
    expect(first.handled).toBe(false);
    expect(second.value).toBe(true);
  });
});
