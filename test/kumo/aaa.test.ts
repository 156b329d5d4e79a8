import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zstd from 'zstd-napi';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { ACCT_LOG } from '../../src/kumo/aaa.ts';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('kumo.aaa (§3.8)', () => {
  it('configure_acct_log works once; a second call and unknown keys raise (checklist 31)', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kumo-acct-'));
    const t = newLua();
    expect(await errorOf(t.eval(`kumo.aaa.configure_acct_log { log_dir = '${dir}/acct', colour = 'blue' }`))).toMatch(/unknown field `colour`/);
    expect(await errorOf(t.eval('kumo.aaa.configure_acct_log {}'))).toMatch(/missing field `log_dir`/);
    await t.eval(`kumo.aaa.configure_acct_log { log_dir = '${dir}/acct', max_file_size = 1000, log_authn_fail = false, min_free_space = '5%' }`);
    expect(await errorOf(t.eval(`kumo.aaa.configure_acct_log { log_dir = '${dir}/acct' }`))).toMatch(/already configured/);

    const log = t.ctx.require(ACCT_LOG, 'test');
    await log.log({ type: 'Authentication', ok: true, fields: { identity: 'alice', context: 'SmtpAuthPlainAuthentication' } });
    await log.log({ type: 'Authentication', ok: false, fields: { identity: 'mallory' } });
    await log.close();
    const files = readdirSync(path.join(dir, 'acct'));
    expect(files.length).toBe(1);
    const text = Buffer.from(zstd.decompress(readFileSync(path.join(dir, 'acct', files[0]!)))).toString('utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ type: 'Authentication', identity: 'alice' })]);
  });

  it('the ACL cache knobs are type-checked', async () => {
    const t = newLua();
    await t.eval("kumo.aaa.set_acl_cache_ttl('5 minutes') kumo.aaa.set_check_cache_ttl(60) kumo.aaa.set_fall_back_to_acl_map(true)");
    expect(await errorOf(t.eval("kumo.aaa.set_acl_cache_ttl('soon')"))).toMatch(/set_acl_cache_ttl/);
    expect(await errorOf(t.eval("kumo.aaa.set_fall_back_to_acl_map('yes')"))).toMatch(/expected a boolean/);
  });
});
