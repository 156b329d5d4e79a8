import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';
import { fire } from '../helpers/lua-extras.ts';

function files(contents: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sources-'));
  return contents.map((text, i) => {
    const f = path.join(dir, `s${i}.toml`);
    fs.writeFileSync(f, text);
    return f;
  });
}

async function setup(contents: string[]) {
  const t = newLua();
  const list = files(contents).map((f) => `'${f}'`).join(', ');
  await t.load(`require('policy-extras.sources'):setup { ${list} }`);
  return t;
}

const DATA = `
[source."vmta-a"]
source_address = "192.0.2.10"
ehlo_domain = "a.example.net"
[source."vmta-b"]
source_address = "192.0.2.11"
[pool."shared"]
[pool."shared"."vmta-a"]
weight = 2
[pool."shared"."vmta-b"]
[pool."empty"]
`;

describe('policy-extras.sources', () => {
  it('[pool.p."a"] weight = 2 gives { name = "a", weight = 2 }; weight defaults to 1; members from two files concatenate (checklist 75)', async () => {
    const t = await setup(['[pool."p"."a"]\nweight = 2\n[pool."p"."b"]\n', '[pool."p"."c"]\nweight = 0\n[pool."q"]\n']);
    expect(await t.eval(`local d = require('policy-extras.sources').CONFIGURED.get_data() return { d.pools.p, d.pools.q.name, #d.pools.q.entries }`)).toEqual([
      { name: 'p', entries: [{ name: 'a', weight: 2 }, { name: 'b', weight: 1 }, { name: 'c', weight: 0 }] },
      'q',
      0,
    ]);
  });

  it('an unknown pool member key or a top-level key fails the load, naming it', async () => {
    const t1 = await setup(['[pool."p"."a"]\nwieght = 2\n']);
    expect(await errorOf(t1.eval(`return require('policy-extras.sources').CONFIGURED.get_data()`))).toMatch(/pool\.p\.a: unknown key `wieght`/);
    const t2 = await setup(['[sources."a"]\n']);
    expect(await errorOf(t2.eval(`return require('policy-extras.sources').CONFIGURED.get_data()`))).toMatch(/unknown top-level key "sources"/);
  });

  it('setting up twice raises', async () => {
    const t = await setup(['[pool."p"]\n']);
    expect(await errorOf(t.eval(`require('policy-extras.sources'):setup {}`))).toMatch(/sources module has already been configured/);
  });

  it('an unknown source key fails the load (checklist 75; needs make_egress_source from egress)', async () => {
    const t = await setup(['[source."a"]\nsource_adress = "192.0.2.1"\n']);
    expect(await errorOf(t.eval(`return require('policy-extras.sources').CONFIGURED.get_data()`))).toMatch(/source\.a\.source_adress: .*unknown field `source_adress`/);
  });

  it('source keys merge across files, later winning; the events build the source and pool (needs egress)', async () => {
    const t = await setup([DATA, '[source."vmta-a"]\nehlo_domain = "new.example.net"\n']);
    expect(await t.eval(`return require('policy-extras.sources').CONFIGURED.get_data().sources['vmta-a']`)).toEqual({ source_address: '192.0.2.10', ehlo_domain: 'new.example.net' });
    expect(await t.eval(`return kumo.invoke_get_egress_pool('shared')`)).toMatchObject({ name: 'shared', entries: [{ name: 'vmta-a', weight: 2 }, { name: 'vmta-b', weight: 1 }] });
    expect(await t.eval(`return kumo.invoke_get_egress_source('vmta-a')`)).toMatchObject({ name: 'vmta-a', source_address: '192.0.2.10', ehlo_domain: 'new.example.net' });
    await t.load(`NAME = 'nope'`);
    await expect(fire(t, 'get_egress_source', ['NAME'])).rejects.toThrow(/egress source "nope" is not defined/);
  });

  it('validation fails for a source that cannot be built, and only prints an undefined pool member (needs egress)', async () => {
    const t = await setup(['[source."a"]\nsource_address = "192.0.2.1"\n[pool."p"."ghost"]\n']);
    await fire(t, 'validate_config', []);
    expect(t.printed.join('\n')).toMatch(/pool p lists source ghost, which is not defined/);
    expect(t.ctx.validationFailed).toBe(false);
  });
});

describe('data-file helpers accept dot calls as well as colon calls', () => {
  it('queue.setup, sources.setup, dkim_sign.setup, listener_domains.setup', async () => {
    const t = newLua();
    await t.load(`
      require('policy-extras.sources').setup { { pool = { p = {} } } }
      SETUP_Q = require('policy-extras.queue').setup { { queue = { default = { max_age = '1h' } } } }
      SETUP_SIGN = require('policy-extras.dkim_sign').setup { {} }
      SETUP_LD = require('policy-extras.listener_domains').setup { {} }
    `);
    expect(await t.eval(`
      return { type(SETUP_Q.apply), type(SETUP_SIGN), type(SETUP_LD), require('policy-extras.sources').CONFIGURED ~= nil }
    `)).toEqual(['function', 'function', 'function', true]);
  });
});
