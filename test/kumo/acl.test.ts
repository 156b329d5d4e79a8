/** kumo.aaa ACLs and the get_acl_definition event (lua-api-more.md §3.8, engine.md §8.2). */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { errorOf, newLua, type TestContext } from '../helpers/lua.ts';
import { LISTENERS } from '../../src/server/ports.ts';
import { parseAclMap } from '../../src/kumo/acl.ts';

let live: TestContext | undefined;
afterEach(async () => {
  await live?.ctx.optional(LISTENERS)?.closeAll();
  live = undefined;
});

describe('kumo.aaa.make_access_control_list / load_acl_map', () => {
  it('builds ACL objects; an ACL map returns them by resource', async () => {
    const t = newLua();
    expect(await t.eval(`
      local acl = kumo.aaa.make_access_control_list {
        { criteria = { Identity = { Group = 'admins' } }, privilege = 'GET', access = 'Allow' },
      }
      local map = kumo.aaa.load_acl_map { key_data = [=[
[[acl."http_listener/*/api/admin"]]
allow = false
privileges = ["POST"]
identity.Any = {}
]=] }
      return { tostring(acl):match('^ACL') ~= nil, map:get('http_listener/*/api/admin') ~= nil, map:get('nope') == nil }
    `)).toEqual([true, true, true]);
    expect(parseAclMap('[[acl."r"]]\nallow = true\nprivileges = ["GET", "POST"]\nidentity.Group = "g"\n').get('r')).toEqual([
      { criterion: { kind: 'Group', name: 'g' }, methods: ['GET', 'POST'], access: 'Allow' },
    ]);
  });

  it('rejects malformed rules with the field named', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.aaa.make_access_control_list { { criteria = { Identity = { Group = 'g' } }, privilege = 'GET', access = 'Maybe' } }"))).toMatch(/rule 1\.access: expected 'Allow' or 'Deny'/);
    expect(await errorOf(t.eval("kumo.aaa.make_access_control_list { { criteria = { Identity = { Wizard = 'g' } }, privilege = 'GET', access = 'Allow' } }"))).toMatch(/unknown identity form 'Wizard'/);
    expect(await errorOf(t.eval("kumo.aaa.make_access_control_list { { criteria = { Identity = { Any = {} } }, privilege = 'GET', access = 'Allow', extra = 1 } }"))).toMatch(/unknown field 'extra'/);
    expect(() => parseAclMap('[[acl."r"]]\nallow = "yes"\nprivileges = []\nidentity.Any = {}\n')).toThrow(/allow: expected true or false/);
    expect(() => parseAclMap('[acl]\nr = 1\n')).toThrow(/must be a list of rules/);
  });
});

async function listener(policy: string): Promise<string> {
  const t = (live = newLua());
  await t.load(`local kumo = require 'kumo'\n${policy}`);
  // 127.0.0.1 is not trusted here, so the default ACL denies it /metrics.
  await t.eval("kumo.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '10.0.0.1' } }");
  return `http://${t.ctx.require(LISTENERS, 'test').all[0]!.address}`;
}

describe('get_acl_definition and the HTTP listener', () => {
  it('without the event the default ACL applies: an untrusted peer may not read /metrics', async () => {
    const url = await listener('');
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/not permitted GET on http_listener\//);
  });

  it('an ACL returned by get_acl_definition decides for its resource; other resources fall back to the default map', async () => {
    const url = await listener(`
      kumo.on('get_acl_definition', function(resource)
        if resource == 'http_listener/*/metrics' then
          return kumo.aaa.make_access_control_list { { criteria = { Identity = { Any = {} } }, privilege = 'GET', access = 'Allow' } }
        end
      end)`);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/api/check-liveness/v1`)).status).toBe(200);
    expect((await fetch(`${url}/metrics.json`)).status).toBe(401);
  });

  it('a Deny rule wins over the default; set_fall_back_to_acl_map(false) leaves only the event', async () => {
    const url = await listener(`
      kumo.on('get_acl_definition', function(resource)
        if resource == 'http_listener/*/api/check-liveness' then
          return kumo.aaa.make_access_control_list { { criteria = { Identity = { Unauthenticated = {} } }, privilege = 'GET', access = 'Deny' } }
        end
      end)`);
    const res = await fetch(`${url}/api/check-liveness/v1`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/denied GET on http_listener\/\*\/api\/check-liveness/);
    await live!.ctx.optional(LISTENERS)?.closeAll();

    const url2 = await listener("kumo.aaa.set_fall_back_to_acl_map(false)\nkumo.on('get_acl_definition', function(resource) return nil end)");
    expect((await fetch(`${url2}/api/check-liveness/v1`)).status).toBe(401);
  });
});
