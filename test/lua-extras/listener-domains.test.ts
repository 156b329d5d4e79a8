import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';
import { fire, MISSING_APIS_PRELUDE } from '../helpers/lua-extras.ts';

const DATA = `
["example.com"]
log_oob = true
["*.corp.example"]
relay_to = true
["auth.example"]
relay_from_authz = ["scott"]
["*"]
log_arf = "LogThenDrop"

[listener."127.0.0.1:2525"."example.com"]
relay_to = true
`;

async function setup(text = DATA) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'listener-domains-'));
  fs.writeFileSync(path.join(dir, 'ld.toml'), text);
  const t = newLua();
  await t.load(MISSING_APIS_PRELUDE);
  await t.load(`
    local kumo = require 'kumo'
    HANDLER = require('policy-extras.listener_domains'):setup { '${dir}/ld.toml', { ['extra.example'] = { relay_to = true } } }
    kumo.on('get_listener_domain', HANDLER)
    function conn(meta)
      return { get_meta = function(self, k) return meta[k] end }
    end
    function decide(domain, listener, meta)
      local ld = HANDLER(domain, listener, conn(meta or { received_from = '10.1.2.3:4444' }))
      if ld == nil then return 'nil' end
      return { relay_to = ld.relay_to, relay_from = ld.relay_from, log_oob = ld.log_oob, log_arf = ld.log_arf }
    end
  `);
  return t;
}

describe('policy-extras.listener_domains', () => {
  it('a per-listener entry beats *; ["*"] is the final fallback; wildcards match subdomains (checklist 79)', async () => {
    const t = await setup();
    expect(await t.eval(`return decide('example.com', '127.0.0.1:2525')`)).toMatchObject({ relay_to: true });
    expect(await t.eval(`return decide('example.com', '127.0.0.1:25')`)).toMatchObject({ log_oob: expect.anything() });
    expect(await t.eval(`return decide('a.b.corp.example', '127.0.0.1:25')`)).toMatchObject({ relay_to: true });
    expect(await t.eval(`return decide('unknown.net', '127.0.0.1:2525')`)).toMatchObject({ log_arf: 'LogThenDrop' });
    expect(await t.eval(`return decide('extra.example', '127.0.0.1:25')`)).toMatchObject({ relay_to: true });
  });

  it('relay_from_authz relays from the peer IP for a listed authenticated sender only (checklist 79)', async () => {
    const t = await setup();
    expect(await t.eval(`return decide('auth.example', '127.0.0.1:25', { authz_id = 'scott', received_from = '10.1.2.3:4444' })`)).toMatchObject({ relay_from: ['10.1.2.3'] });
    const other = await t.eval(`return decide('auth.example', '127.0.0.1:25', { authz_id = 'mallory', received_from = '10.1.2.3:4444' })`);
    expect(JSON.stringify(other)).not.toContain('10.1.2.3');
    expect(await t.eval(`return decide('auth.example', '127.0.0.1:25', { received_from = '10.1.2.3:4444' }).relay_from_authz`)).toBeNull();
  });

  it('without a catch-all an unknown domain gets nil', async () => {
    const t = await setup('["example.com"]\nrelay_to = true\n');
    expect(await t.eval(`return decide('other.net', '127.0.0.1:25')`)).toBe('nil');
  });

  it('entries merge key by key across files; setting up twice raises', async () => {
    const t = newLua();
    await t.load(MISSING_APIS_PRELUDE);
    await t.load(`
      H = require('policy-extras.listener_domains'):setup {
        { ['m.example'] = { relay_to = true, log_oob = 'LogThenRelay' } },
        { ['m.example'] = { log_oob = 'LogThenDrop' } },
      }
    `);
    expect(await t.eval(`local ld = H('m.example', '127.0.0.1:25', nil) return { ld.relay_to, ld.log_oob }`)).toEqual([true, 'LogThenDrop']);
    expect(await errorOf(t.eval(`require('policy-extras.listener_domains'):setup {}`))).toMatch(/already been configured/);
  });

  it('validation builds every entry with make_listener_domain (needs smtpserver for the real checks)', async () => {
    const t = await setup('["example.com"]\nrelay_from = ["10.0.0.1/24"]\n');
    await fire(t, 'validate_config', []);
    expect(t.ctx.validationFailed).toBe(true);
    expect(t.printed.join('\n')).toMatch(/domain example\.com: .*10\.0\.0\.1\/24/);
  });
});
