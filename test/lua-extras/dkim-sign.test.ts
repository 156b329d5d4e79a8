import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';
import { fire, MISSING_APIS_PRELUDE } from '../helpers/lua-extras.ts';
import { checkDkim } from '../../src/testing/dkim-check.ts';

const DATA = `
[base]
selector = "default"
headers = ["From", "To", "Subject"]
additional_signatures = ["esp", "always"]

[domain."example.com"]
selector = "s1"
filename = "/keys/example.com.key"

[domain."*.ed.example"]
algo = "ed25519"
over_sign = true

[signature."esp"]
domain = "esp.example"
policy = "OnlyIfMissingDomainBlock"

[signature."always"]
domain = "always.example"
selector = "a1"
`;

/**
 * The helper's decisions, observed at its edge: signer constructors and
 * msg:dkim_sign are replaced by recorders and the message by a double that
 * has a From domain (or none).
 */
async function logicSetup(text = DATA) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkim-sign-'));
  fs.writeFileSync(path.join(dir, 'dkim.toml'), text);
  const t = newLua();
  await t.load(MISSING_APIS_PRELUDE);
  await t.load(`
    local kumo = require 'kumo'
    rawset(kumo.dkim, 'rsa_sha256_signer', function(p) p.made_by = 'rsa_sha256_signer' return p end)
    rawset(kumo.dkim, 'ed25519_signer', function(p) p.made_by = 'ed25519_signer' return p end)
    SIGN = require('policy-extras.dkim_sign'):setup { '${dir}/dkim.toml' }
    function sign_as(from_domain)
      local signed = {}
      local msg = {
        from_header = function() if from_domain then return { domain = from_domain } end end,
        dkim_sign = function(_, signer) signed[#signed + 1] = signer end,
      }
      SIGN(msg)
      return signed
    end
  `);
  return t;
}

describe('policy-extras.dkim_sign', () => {
  it('a missing From header is rejected with 552 (checklist 80)', async () => {
    const t = await logicSetup();
    expect(await t.eval(`local ok, err = pcall(sign_as, nil) return tostring(err)`)).toMatch(/^552 5\.6\.0 /);
  });

  it('a domain block signs with its values over [base]; additional signatures follow; the default key path (checklist 80)', async () => {
    const t = await logicSetup();
    expect(await t.eval(`return sign_as('example.com')`)).toEqual([
      { made_by: 'rsa_sha256_signer', domain: 'example.com', selector: 's1', headers: ['From', 'To', 'Subject'], key: '/keys/example.com.key' },
      { made_by: 'rsa_sha256_signer', domain: 'always.example', selector: 'a1', headers: ['From', 'To', 'Subject'], key: '/opt/kumomta/etc/dkim/always.example/a1.key' },
    ]);
  });

  it("algo = 'ed25519' uses the Ed25519 signer; wildcard domain blocks match the From domain (checklist 80)", async () => {
    const t = await logicSetup();
    expect(await t.eval(`local s = sign_as('mail.ed.example')[1] return { s.made_by, s.domain, s.selector, s.over_sign, s.key }`)).toEqual([
      'ed25519_signer', 'mail.ed.example', 'default', true, '/opt/kumomta/etc/dkim/mail.ed.example/default.key',
    ]);
  });

  it('OnlyIfMissingDomainBlock signs only From domains without a domain block (checklist 80)', async () => {
    const t = await logicSetup();
    expect(await t.eval(`local out = {} for _, s in ipairs(sign_as('other.net')) do out[#out + 1] = s.domain end return out`)).toEqual(['esp.example', 'always.example']);
    expect(await t.eval(`local out = {} for _, s in ipairs(sign_as('example.com')) do out[#out + 1] = s.domain end return out`)).toEqual(['example.com', 'always.example']);
  });

  it('vault keys: block filename or <prefix>/<domain>/<selector>', async () => {
    const t = await logicSetup('[base]\nvault_mount = "secret"\nvault_path_prefix = "dk"\n[domain."v.example"]\nselector = "s"\n');
    expect(await t.eval(`return sign_as('v.example')[1].key`)).toEqual({ vault_mount: 'secret', vault_path: 'dk/v.example/s' });
  });

  it('bad data fails: unknown keys, a policy not allowed in domain blocks, a missing signature block or selector', async () => {
    const bad = async (text: string) => errorOf((await logicSetup(text)).eval(`return sign_as('example.com')`));
    expect(await bad('[domain."a.com"]\nselector = "s"\nselectr = "x"\n')).toMatch(/domain\.a\.com: unknown key `selectr`/);
    expect(await bad('[domain."a.com"]\nselector = "s"\npolicy = "OnlyIfMissingDomainBlock"\n')).toMatch(/domain\.a\.com\.policy must be one of "Always"/);
    expect(await bad('[base]\nadditional_signatures = ["nope"]\n')).toMatch(/no \[signature\."nope"\] block/);
    expect(await bad('[domain."a.com"]\nheaders = ["From"]\n')).toMatch(/domain a\.com has no selector/);
  });

  describe('real signatures, checked by mailauth (needs kumo.dkim, msg:from_header and msg:dkim_sign from auth)', () => {
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'dkim-keys-'));
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ed = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    fs.writeFileSync(path.join(keys, 'rsa.key'), rsa);
    fs.writeFileSync(path.join(keys, 'ed.key'), ed);

    it('RSA and Ed25519 signatures made from the data file verify; validation test-signs each domain', async () => {
      const t = newLua();
      await t.load(`
        SIGN = require('policy-extras.dkim_sign'):setup { {
          base = { headers = { 'From', 'Subject' } },
          domain = {
            ['example.com'] = { selector = 's1', filename = '${keys}/rsa.key' },
            ['ed.example'] = { selector = 'e1', algo = 'ed25519', filename = '${keys}/ed.key' },
          },
        } }
      `);
      for (const [domain, selector, key] of [['example.com', 's1', 'rsa.key'], ['ed.example', 'e1', 'ed.key']] as const) {
        const text = (await t.eval(`
          local msg = kumo.make_message('a@${domain}', 'b@example.net', 'From: <a@${domain}>\\r\\nSubject: hello\\r\\n\\r\\nbody\\r\\n')
          SIGN(msg)
          return msg:get_data()
        `)) as string;
        expect(await checkDkim(text, { [`${selector}._domainkey.${domain}`]: path.join(keys, key) })).toEqual([
          expect.objectContaining({ status: 'pass', domain, selector }),
        ]);
      }
      await fire(t, 'validate_config', []);
      expect(t.ctx.validationFailed).toBe(false);
    });
  });
});
