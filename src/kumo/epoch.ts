/**
 * The configuration epoch (lua-api-more.md §3.6): a process-wide counter.
 * On change, memoize caches with `invalidate_with_epoch` drop their values
 * and queues / ready queues with `refresh_strategy = 'Epoch'` re-fire their
 * config events (the daemon subscribes the engine). The config monitor
 * re-walks the globs every 10 s and bumps the epoch when names or contents
 * changed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, checkTable } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson } from '../lua/marshal.ts';
import type { TimerHandle } from '../util/clock.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import { checkGlobSyntax, evalMonitorGlobs } from './config-globs.ts';
import type { ModuleTable } from './module-table.ts';

export const DEFAULT_MONITOR_GLOBS: readonly string[] = ['/opt/kumomta/etc/**/*.{lua,json,toml,yaml}'];
const MONITOR_INTERVAL_MS = 10_000;

export class ConfigEpoch {
  private current = 0;
  private readonly listeners = new Set<(epoch: number) => void>();
  monitorGlobs: readonly string[] = DEFAULT_MONITOR_GLOBS;

  get value(): number {
    return this.current;
  }

  bump(): void {
    this.current++;
    for (const l of [...this.listeners]) l(this.current);
  }

  /** Calls `listener` after every bump; returns the unsubscribe function. */
  subscribe(listener: (epoch: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const CONFIG_EPOCH = new ServiceSlot<ConfigEpoch>('the configuration epoch');

/** The context's epoch, created on first use (memoize may ask before this module registers). */
export function configEpochOf(ctx: KumoContext): ConfigEpoch {
  let epoch = ctx.optional(CONFIG_EPOCH);
  if (!epoch) ctx.provide(CONFIG_EPOCH, (epoch = new ConfigEpoch()));
  return epoch;
}

/** Hash of the matching file names and their contents. */
async function fingerprint(globs: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await evalMonitorGlobs(globs)) {
    hash.update(file).update('\0');
    try {
      hash.update(await readFile(file));
    } catch {
      hash.update('<unreadable>');
    }
  }
  return hash.digest('hex');
}

/** Starts the 10 s config monitor (not under --validate); returns its stop function. */
export function startConfigMonitor(ctx: KumoContext): () => void {
  const epoch = configEpochOf(ctx);
  let timer: TimerHandle | null = null;
  let last: string | null = null;
  let stopped = false;
  const tick = async () => {
    try {
      const now = await fingerprint(epoch.monitorGlobs);
      if (last !== null && now !== last) {
        ctx.log.write('info', 'configuration files changed: bumping the config epoch');
        epoch.bump();
      }
      last = now;
    } catch (err) {
      ctx.log.write('error', `config monitor: ${(err as Error).message}`);
    }
    if (!stopped) timer = ctx.clock.setTimer(MONITOR_INTERVAL_MS, () => void tick());
  };
  void tick();
  return () => {
    stopped = true;
    timer?.cancel();
  };
}

function readGlobList(L: LuaState): string[] {
  checkTable(L, 1);
  const out: string[] = [];
  const n = lua.lua_rawlen(L, 1) as number;
  for (let i = 1; i <= n; i++) {
    lua.lua_rawgeti(L, 1, i);
    out.push(argString(L, -1));
    lua.lua_pop(L, 1);
  }
  for (const g of out) checkGlobSyntax(g);
  return out;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const epoch = configEpochOf(ctx);
  kumo.fn('bump_config_epoch', () => {
    epoch.bump();
    return 0;
  });
  kumo.fn('set_config_monitor_globs', (L) => {
    epoch.monitorGlobs = readGlobList(L);
    return 0;
  });
  kumo.fn(
    'eval_config_monitor_globs',
    asyncFunction('kumo.eval_config_monitor_globs', async () => {
      const files = await evalMonitorGlobs(epoch.monitorGlobs);
      return (L) => (pushJson(L, files), 1);
    }),
  );
}
