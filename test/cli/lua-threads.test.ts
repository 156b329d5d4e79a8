/**
 * `kumo-lua --lua-threads N` as an operator runs it: the real CLI in a child
 * process (the compiled bundle when dist/ is fresh, else the sources).
 */
import { describe, expect, it } from 'vitest';
import { luaPath, runCli, spawnCli, usePolicyDir } from '../helpers/daemon.ts';

const dir = usePolicyDir('kumo-lua-threads-');

function servePolicy(extra: string): string[] {
  return [
    `local kumo = require 'kumo'`,
    `kumo.on('init', function()`,
    `  kumo.define_spool { name = 'data', path = ${luaPath(dir.dir + '/spool')} }`,
    `  kumo.define_spool { name = 'meta', path = ${luaPath(dir.dir + '/spool')} }`,
    `  kumo.start_http_listener { listen = '127.0.0.1:0' }`,
    `end)`,
    extra,
  ];
}

describe('kumo-lua --lua-threads', () => {
  it('refuses a value that is not a whole number', async () => {
    const r = await runCli(['--lua-threads', 'two', dir.policyFile('a.lua', servePolicy(''))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--lua-threads: expected a whole number of threads, got 'two'");
  });

  it('a worker that cannot load the policy fails the start, and the process exits', async () => {
    const file = dir.policyFile('b.lua', servePolicy(`if _KUMO_LUA_WORKER then kumo.set_diagnostic_log_filter('info') end`));
    const r = await runCli(['--lua-threads', '2', file], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kumo-lua: failed to start: Lua worker \d \(--lua-threads\) could not load the policy: kumo\.set_diagnostic_log_filter is not available on worker Lua states yet/);
    expect(r.stderr).toMatch(/b\.lua:\d+: in main chunk/);
  });

  it('--validate --lua-threads also loads the policy in each worker state', async () => {
    const file = dir.policyFile('v.lua', servePolicy(`if _KUMO_LUA_WORKER then kumo.set_diagnostic_log_filter('info') end`));
    const plain = await runCli(['--validate', file]);
    expect(plain.code).toBe(0);
    const withThreads = await runCli(['--validate', '--lua-threads', '1', file]);
    expect(withThreads.code).toBe(1);
    expect(withThreads.stderr).toMatch(/Validation failed: Lua worker 0 \(--lua-threads\) could not load the policy: kumo\.set_diagnostic_log_filter is not available/);
  });

  it('serves with worker states and exits cleanly on SIGTERM', async () => {
    const p = spawnCli(['--lua-threads', '2', dir.policyFile('c.lua', servePolicy(''))]);
    await p.waitForOutput(/spool .*requeued/);
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
    const { code, signal } = await p.exited;
    clearTimeout(timer);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
