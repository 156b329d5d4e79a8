import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';
import { provideMx } from '../helpers/shaping-mx.ts';

const MX = {
  'a.test': ['mx1.mail.test.', 'mx2.mail.test.'],
  'b.test': ['mx1.mail.test.', 'mx2.mail.test.'],
  'c.test': ['mx.other.test.'],
  'big.test': ['a.mx.bigmail.test.', 'b.mx.bigmail.test.'],
  'mixed.test': ['a.mx.bigmail.test.', 'mx.elsewhere.test.'],
  'nullmx.test': ['.'],
};

function dataDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shaping-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A Lua state with the shaping helper set up on `files` (no default file), handler in global GET. */
async function shaped(files: Record<string, string>, order = Object.keys(files)) {
  const dir = dataDir(files);
  const t = newLua();
  provideMx(t.ctx, MX);
  const list = order.map((f) => `'${path.join(dir, f)}'`).join(', ');
  await t.load(`
    local kumo = require 'kumo'
    local shaping = require 'policy-extras.shaping'
    HELPER = shaping:setup_with_automation { extra_files = { ${list} }, no_default_files = true }
    GET = HELPER.get_egress_path_config
  `);
  return { t, dir };
}

const cfg = (domain: string, source: string, site: string) => `local p = GET('${domain}', '${source}', '${site}')\nlocal out = {}\nfor k, v in pairs(p) do out[k] = v end\nreturn out`;

describe('policy-extras.shaping', () => {
  it('mx_rollup = false applies a block to that domain only; true to every domain with the same MX site (checklist 82)', async () => {
    const { t } = await shaped({
      's.toml': `
["default"]
connection_limit = 5
["a.test"]
max_deliveries_per_connection = 7
["c.test"]
mx_rollup = false
connection_limit = 2
`,
    });
    const site = '(mx1|mx2).mail.test';
    expect(await t.eval(cfg('b.test', 'unspecified', site))).toEqual({ connection_limit: 5, max_deliveries_per_connection: 7, refresh_strategy: 'Epoch' });
    expect(await t.eval(cfg('c.test', 'unspecified', 'mx.other.test'))).toEqual({ connection_limit: 2, refresh_strategy: 'Epoch' });
    // Another domain on c.test's MX site does not get c.test's block.
    expect(await t.eval(cfg('d.test', 'unspecified', 'mx.other.test'))).toEqual({ connection_limit: 5, refresh_strategy: 'Epoch' });
  });

  it('mx_rollup and MX provider rules resolve through kumo.dns, so kumo.dns.configure_test_resolver answers them', async () => {
    const dir = dataDir({ 's.toml': '["a.test"]\nconnection_limit = 3\n[provider."hosted"]\nmatch = [ { MXSuffix = ".hosted.test" } ]\nprovider_connection_limit = 9\n' });
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.dns.configure_test_resolver { [[
$ORIGIN test.
a 300 IN MX 10 mx1.hosted.test.
a 300 IN MX 20 mx2.hosted.test.
b 300 IN MX 5 mx1.hosted.test.
b 300 IN MX 50 mx2.hosted.test.
]] }
      GET = require('policy-extras.shaping'):setup_with_automation { extra_files = { '${dir}/s.toml' }, no_default_files = true }.get_egress_path_config
      SITE = kumo.dns.lookup_mx('b.test').site_name
    `);
    const r = (await t.eval(`local p = GET('b.test', 'ip-1', SITE) return { p.connection_limit, p.provider_name, p.additional_connection_limits['shaping-provider-hosted-ip-1-limit'] }`)) as unknown[];
    expect(r).toEqual([3, 'hosted', 9]);
  });

  it('provider_connection_limit appears as additional_connection_limits["shaping-provider-<P>-<source>-limit"] (checklist 81)', async () => {
    const { t } = await shaped({
      's.toml': `
[provider."bigmail"]
match = [ { MXSuffix = ".mx.bigmail.test" } ]
provider_connection_limit = 20
provider_max_message_rate = "100/s"
max_message_rate = "10/s"
[provider."bigmail".sources."vmta-a"]
provider_source_selection_rate = "50/s"
`,
    });
    expect(await t.eval(cfg('big.test', 'vmta-a', '(a|b).mx.bigmail.test'))).toEqual({
      provider_name: 'bigmail',
      max_message_rate: '10/s',
      additional_connection_limits: { 'shaping-provider-bigmail-vmta-a-limit': 20 },
      additional_message_rate_throttles: { 'shaping-provider-bigmail-vmta-a-rate': '100/s' },
      additional_source_selection_rates: { 'shaping-provider-bigmail-vmta-a-selection-rate': '50/s' },
      refresh_strategy: 'Epoch',
    });
    // Every MX host must match: a domain with one foreign MX is not bigmail's.
    expect(await t.eval(cfg('mixed.test', 'vmta-a', 'x'))).toEqual({ refresh_strategy: 'Epoch' });
  });

  it('precedence: default < provider < site block < domain block < per-source, additional_* maps merge', async () => {
    const { t } = await shaped({
      'one.toml': `
["default"]
connection_limit = 10
additional_connection_limits = { a = 1 }
[provider."p"]
match = [ { DomainSuffix = ".test" } ]
connection_limit = 11
["a.test"]
connection_limit = 12
additional_connection_limits = { b = 2 }
["a.test".sources."vmta-a"]
connection_limit = 14
`,
      'two.toml': `
["a.test"]
mx_rollup = false
connection_limit = 13
`,
    });
    const site = '(mx1|mx2).mail.test';
    expect(await t.eval(cfg('a.test', 'vmta-b', site))).toMatchObject({ connection_limit: 13, provider_name: 'p', additional_connection_limits: { a: 1, b: 2 } });
    expect(await t.eval(cfg('a.test', 'vmta-a', site))).toMatchObject({ connection_limit: 14 });
  });

  it('later files overwrite key by key; replace_base discards earlier data; automation rules concatenate', async () => {
    const { t } = await shaped({
      'one.toml': `
["c.test"]
mx_rollup = false
connection_limit = 3
max_deliveries_per_connection = 9
[["c.test".automation]]
regex = "rate limited"
action = "Suspend"
duration = "1h"
["a.test"]
connection_limit = 3
max_deliveries_per_connection = 9
`,
      'two.json': JSON.stringify({
        'c.test': { mx_rollup: false, connection_limit: 4, automation: [{ regex: ['blocked'], action: ['Bounce'], trigger: { Threshold: '3/10m' }, duration: '30m' }] },
        'a.test': { replace_base: true, connection_limit: 4 },
      }),
    });
    expect(await t.eval(cfg('c.test', 'x', 'mx.other.test'))).toEqual({ connection_limit: 4, max_deliveries_per_connection: 9, refresh_strategy: 'Epoch' });
    expect(await t.eval(cfg('a.test', 'x', '(mx1|mx2).mail.test'))).toEqual({ connection_limit: 4, refresh_strategy: 'Epoch' });
    expect(await t.eval(`
      local data = HELPER.load_shaping_data()
      local rules = data:match_rules { recipient = 'u@c.test', site = 'mx.other.test', response = { content = '421 4.7.0 rate limited, blocked' } }
      return { #rules, rules[1].action, rules[2].trigger.Threshold, #data:match_rules { recipient = 'u@c.test', response = { content = 'fine' } } }
    `)).toEqual([2, 'Suspend', '3/10m', 0]);
  });

  it('providers hold automation rules too (KumoMTA\'s stock shaping.toml has one for yahoo): parsed, concatenated, matched for their domains', async () => {
    const { t } = await shaped({
      'one.toml': `
[provider."p"]
match = [ { DomainSuffix = ".test" } ]
max_deliveries_per_connection = 20
[[provider."p".automation]]
regex = "TS04"
action = "Suspend"
duration = "2 hours"
`,
      'two.toml': `
[provider."p"]
[[provider."p".automation]]
regex = "later"
action = "Bounce"
duration = "1h"
`,
    });
    expect(await t.eval(cfg('a.test', 'x', 'mx.other.test'))).toMatchObject({ max_deliveries_per_connection: 20, provider_name: 'p' });
    expect(await t.eval(`
      local data = HELPER.load_shaping_data()
      local function actions(domain, text)
        local out = {}
        for _, r in ipairs(data:match_rules { recipient = 'u@' .. domain, response = { content = text } }) do out[#out + 1] = r.action end
        return table.concat(out, ',')
      end
      return { actions('a.test', '421 [TS04] deferred'), actions('a.test', 'later TS04'), actions('example.com', '421 [TS04]') }
    `)).toEqual(['Suspend', 'Suspend,Bounce', '']);
    const bad = (await shaped({ 's.toml': '[provider."p"]\nmatch = [ { DomainSuffix = ".test" } ]\n[[provider."p".automation]]\nregex = "x"\naction = "Suspend"\n' })).t;
    expect(await errorOf(bad.eval(`return GET('a.test', 's', 'x')`))).toMatch(/provider.*automation\[1\]: missing field `duration`/);
  });

  it('a bad option fails the load naming the block; bad automation rules too', async () => {
    const t1 = (await shaped({ 's.toml': '["a.test"]\nconection_limit = 3\n' })).t;
    expect(await errorOf(t1.eval(`return GET('a.test', 's', 'x')`))).toMatch(/"a\.test": unknown field `conection_limit`/);
    const t2 = (await shaped({ 's.toml': '[["a.test".automation]]\nregex = "x"\naction = "Suspend"\n' })).t;
    expect(await errorOf(t2.eval(`return GET('a.test', 's', 'x')`))).toMatch(/automation\[1\]: missing field `duration`/);
  });

  it('reports DNS failures, null MX and unquoted domains at the configured levels', async () => {
    const dir = dataDir({ 's.toml': '["nowhere.test"]\nconnection_limit = 1\n["nullmx.test"]\nconnection_limit = 1\n[example]\nconnection_limit = 1\n' });
    const t = newLua();
    provideMx(t.ctx, MX);
    const r = await t.eval(`
      local d = kumo.shaping.load({ '${dir}/s.toml', '${dir}/missing.toml' }, { dns_fail = 'Warn', null_mx = 'Error', local_load = 'Warn' })
      return { d:get_errors(), d:get_warnings() }
    `) as string[][];
    expect(r[0]).toEqual([expect.stringMatching(/nullmx\.test has a null MX; its block is skipped/)]);
    expect(r[1].join('\n')).toMatch(/cannot resolve the MX of nowhere\.test/);
    expect(r[1].join('\n')).toMatch(/"example": a single-label domain name/);
    expect(r[1].join('\n')).toMatch(/failed to load .*missing\.toml/);
    expect(await errorOf(t.eval(`kumo.shaping.load({}, { dns_fial = 'Warn' })`))).toMatch(/unknown field `dns_fial`/);
  });

  it('hash changes with the data; referenced sources name their blocks', async () => {
    const dir = dataDir({ 'a.toml': '["c.test"]\nmx_rollup = false\n["c.test".sources."s1"]\nconnection_limit = 1\n', 'b.toml': '["c.test"]\nmx_rollup = false\nconnection_limit = 2\n' });
    const t = newLua();
    provideMx(t.ctx, MX);
    const r = await t.eval(`
      local a = kumo.shaping.load { '${dir}/a.toml' }
      local a2 = kumo.shaping.load { '${dir}/a.toml' }
      local b = kumo.shaping.load { '${dir}/a.toml', '${dir}/b.toml' }
      return { a:hash() == a2:hash(), a:hash() == b:hash(), #a:hash(), a:get_referenced_sources() }
    `);
    expect(r).toEqual([true, false, 64, { s1: ['domain:c.test'] }]);
  });

  it('setting up twice raises; setup_with_automation without a daemon says so once; setup() stays quiet', async () => {
    const t = newLua();
    await t.load(`
      local shaping = require 'policy-extras.shaping'
      shaping:setup_with_automation { no_default_files = true }
      OK, ERR = pcall(shaping.setup, shaping, {})
    `);
    expect(await t.eval('return { OK, ERR }')).toEqual([false, expect.stringMatching(/shaping module has already been configured/)]);
    const said = t.log.lines.filter((l) => /no shaping daemon/.test(l.message));
    expect(said).toHaveLength(1);
    const quiet = newLua();
    await quiet.load(`require('policy-extras.shaping'):setup {}`);
    expect(quiet.log.lines.filter((l) => /no shaping daemon/.test(l.message))).toHaveLength(0);
  });

  it('the default file loads (KumoMTA path if present, else ours)', async () => {
    const t = newLua();
    await t.load(`GET = require('policy-extras.shaping'):setup {}`);
    expect(await t.eval(cfg('x.test', 's', 'x.test'))).toEqual({ refresh_strategy: 'Epoch' });
  });
});

describe('policy-extras.shaping validation', () => {
  it('a file that fails to load fails validate_config; a good one passes', async () => {
    const { fire } = await import('../helpers/lua-extras.ts');
    const bad = newLua();
    provideMx(bad.ctx, MX);
    await bad.load(`require('policy-extras.shaping'):setup { '/nonexistent/shaping.toml' }`);
    await fire(bad, 'validate_config', []);
    expect(bad.ctx.validationFailed).toBe(true);
    expect(bad.printed.join('\n')).toMatch(/failed to load \/nonexistent\/shaping\.toml/);
    const good = newLua();
    provideMx(good.ctx, MX);
    const dir = dataDir({ 's.toml': '["c.test"]\nmx_rollup = false\nconnection_limit = 2\n' });
    await good.load(`require('policy-extras.shaping'):setup { '${dir}/s.toml' }`);
    await fire(good, 'validate_config', []);
    expect(good.ctx.validationFailed).toBe(false);
  });
});

describe('policy-extras.shaping with policy-extras.sources', () => {
  it('validation fails for a shaping source the sources helper does not define; the sample name is allowed (needs make_egress_source from egress)', async () => {
    const { fire } = await import('../helpers/lua-extras.ts');
    const t = newLua();
    provideMx(t.ctx, MX);
    const dir = dataDir({ 's.toml': '["c.test"]\nmx_rollup = false\n["c.test".sources."ghost"]\nconnection_limit = 1\n["c.test".sources."my source name"]\nconnection_limit = 1\n["c.test".sources."a"]\nconnection_limit = 1\n' });
    await t.load(`
      require('policy-extras.sources'):setup { { source = { a = { source_address = '192.0.2.1' } } } }
      require('policy-extras.shaping'):setup { '${dir}/s.toml' }
    `);
    await fire(t, 'validate_config', []);
    expect(t.ctx.validationFailed).toBe(true);
    const printed = t.printed.join('\n');
    expect(printed).toMatch(/source "ghost" \(used in domain:c\.test\) is not defined/);
    expect(printed).not.toMatch(/my source name|source "a"/);
  });
});
