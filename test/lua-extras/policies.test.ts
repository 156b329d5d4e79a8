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

const DATA = path.join(REPO_ROOT, 'examples/full-policy');

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
});
