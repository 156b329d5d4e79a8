import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { configEpochOf, startConfigMonitor } from '../../src/kumo/epoch.ts';
import { VirtualClock } from '../../src/util/clock.ts';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function tree(): string {
  dir = mkdtempSync(path.join(tmpdir(), 'kumo-epoch-'));
  mkdirSync(path.join(dir, 'etc/sub'), { recursive: true });
  writeFileSync(path.join(dir, 'etc/init.lua'), 'x');
  writeFileSync(path.join(dir, 'etc/sub/queues.toml'), 'y');
  writeFileSync(path.join(dir, 'etc/sub/notes.txt'), 'z');
  mkdirSync(path.join(dir, 'etc/dir.lua'));
  symlinkSync(path.join(dir, 'etc/init.lua'), path.join(dir, 'etc/sub/link.lua'));
  return dir;
}

describe('configuration epoch (§3.6)', () => {
  it('bump_config_epoch() makes invalidate_with_epoch memoize caches recompute (checklist 29)', async () => {
    const t = newLua();
    await t.eval(`
      CALLS, PLAIN = 0, 0
      local kumo = require 'kumo'
      F = kumo.memoize(function() CALLS = CALLS + 1 return CALLS end, { name = 'f', ttl = '1h', capacity = 10, invalidate_with_epoch = true })
      G = kumo.memoize(function() PLAIN = PLAIN + 1 return PLAIN end, { name = 'g', ttl = '1h', capacity = 10 })
    `);
    expect(await t.eval('return { F(), F(), G() }')).toEqual([1, 1, 1]);
    await t.eval('kumo.bump_config_epoch()');
    expect(await t.eval('return { F(), G() }')).toEqual([2, 1]);
    expect(configEpochOf(t.ctx).value).toBe(1);
  });

  it('eval_config_monitor_globs() returns sorted, unique, absolute regular files only (checklist 30)', async () => {
    const d = tree();
    const t = newLua();
    await t.eval(`kumo.set_config_monitor_globs { '${d}/etc/**/*.{lua,toml}', '${d}/etc/*.lua' }`);
    expect(await t.eval('return kumo.eval_config_monitor_globs()')).toEqual([
      `${d}/etc/init.lua`, `${d}/etc/sub/link.lua`, `${d}/etc/sub/queues.toml`,
    ]);
  });

  it('a bad glob raises', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.set_config_monitor_globs { '/etc/[abc' }"))).toMatch(/invalid glob pattern "\/etc\/\[abc"/);
    expect(await errorOf(t.eval("kumo.set_config_monitor_globs { '/etc/{a,b' }"))).toMatch(/unbalanced/);
  });

  it('the monitor bumps the epoch when a watched file changes', async () => {
    const d = tree();
    const clock = new VirtualClock();
    const t = newLua({ clock });
    await t.eval(`kumo.set_config_monitor_globs { '${d}/etc/**/*.lua' }`);
    const epoch = configEpochOf(t.ctx);
    const stop = startConfigMonitor(t.ctx);
    // The first walk records the fingerprint; later ones compare (real file I/O between virtual ticks).
    const tickAndWait = async (until: () => boolean) => {
      for (let i = 0; i < 20 && !until(); i++) {
        await clock.advance(10_000);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await tickAndWait(() => false);
    expect(epoch.value).toBe(0);
    writeFileSync(path.join(d, 'etc/init.lua'), 'changed');
    await tickAndWait(() => epoch.value > 0);
    expect(epoch.value).toBe(1);
    stop();
  });
});
