/**
 * Whole policies on our helpers: the configuration-guide-style example with
 * its data files and a policy using every helper load and pass
 * `kumo-lua --validate` (pre_init, init and every helper's validate_config).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, REPO_ROOT } from '../helpers/daemon.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const DATA = path.join(REPO_ROOT, 'examples/full-policy');
const FIXTURES = path.join(REPO_ROOT, 'test/lua-extras/fixtures');

function validate(policy: string) {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'policies-'));
  return spawnSync(process.execPath, [CLI, '--validate', policy], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FULL_POLICY_DATA_DIR: DATA, KUMO_LUA_STATE_DIR: state },
  });
}

describe('policies built on policy-extras', () => {
  it('the configuration-guide-style example validates with its data files (needs every parallel branch)', () => {
    const run = validate(path.join(DATA, 'init.lua'));
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/error|failed/i);
    expect(run.status).toBe(0);
  });

  it('a policy using every helper validates (needs every parallel branch)', () => {
    const run = validate(path.join(REPO_ROOT, 'test/lua-extras/fixtures/every_helper.lua'));
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/error|failed/i);
    expect(run.status).toBe(0);
  });

  it('a broken data file fails validation naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policies-bad-'));
    fs.writeFileSync(path.join(dir, 'queues.toml'), '[tenant.t]\nmax_age = true\n');
    fs.writeFileSync(path.join(dir, 'init.lua'), `require('policy-extras.queue'):setup { '${dir}/queues.toml' }\n`);
    const run = spawnSync(process.execPath, [CLI, '--validate', path.join(dir, 'init.lua')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toMatch(/queues\.toml: tenant\.t\.max_age/);
  });

  // KumoMTA's own sample policies, rewritten for these tests (fixtures/kumomta_*_init.lua): they run
  // under the test harness, which keeps their /var/spool and /var/log paths inside a temporary directory.
  it("KumoMTA's minimal shipped init.lua starts and routes mail with kumo-lua's defaults", async () => {
    const policy = await createPolicyTest({ policy: path.join(FIXTURES, 'kumomta_minimal_init.lua'), print: () => undefined });
    try {
      await policy.start();
      const r = await policy.route({ recipient: 'user@example.net', site_name: 'example.net' });
      expect(r).toMatchObject({ queue: 'example.net', egress_pool: 'unspecified', queue_config: {} });
      expect(policy.env.log.lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await policy.close();
    }
  });

  it("KumoMTA's TSA sample policy starts without a daemon (said once), shapes with the default file and configures the publish hook", async () => {
    const policy = await createPolicyTest({ policy: path.join(FIXTURES, 'kumomta_tsa_init.lua'), print: () => undefined });
    try {
      await policy.start();
      await policy.advance('65s');
      const r = await policy.route({ recipient: 'user@example.net', site_name: 'example.net' });
      expect(r).toMatchObject({ queue: 'example.net', egress_paths: { unspecified: { refresh_strategy: 'Epoch' } } });
      const complaints = policy.env.log.lines.filter((l) => /no shaping daemon answers at ws:\/\/127\.0\.0\.1:8008\/subscribe_event_v1/.test(l.message));
      expect(complaints).toHaveLength(1);
      expect(await policy.eval("return #require('kumo').get_event_registrars('make.http://127.0.0.1:8008.tsa.kumomta')")).toBe(1);
      expect(policy.env.log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([]);
    } finally {
      await policy.close();
    }
  });
});
