/**
 * Creates a Lua state with the `kumo` module installed: the one place that
 * turns options into a runtime, an event registry and a KumoContext.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LuaRuntime } from '../lua/runtime.ts';
import { EventRegistry, POLICY_LOAD_LABEL } from '../kumo/events.ts';
import { KumoContext, type KumoModeFlags } from '../kumo/context.ts';
import { installKumoModule } from '../kumo/index.ts';
import { StderrLog, type DiagnosticLog } from '../kumo/diagnostics.ts';
import { SystemClock, type Clock } from '../util/clock.ts';

export interface PolicyOptions {
  /** Extra module directories (--lua-path / KUMO_LUA_PATH), searched first. */
  luaPaths?: readonly string[];
  /** The policy file; its directory is searched after luaPaths. */
  policyFile?: string;
  clock?: Clock;
  log?: DiagnosticLog;
  mode?: Partial<KumoModeFlags>;
  cpuLimitMs?: number;
  onCpuStop?: (message: string) => void;
  print?: (line: string) => void;
  nodeId?: string;
}

/** KUMO_LUA_PATH holds directories separated by ':' like PATH. */
export function luaPathsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KUMO_LUA_PATH ?? '').split(':').filter((d) => d.length > 0);
}

export function createKumoContext(options: PolicyOptions = {}): KumoContext {
  const searchDirs = [...(options.luaPaths ?? [])];
  if (options.policyFile) searchDirs.push(path.dirname(path.resolve(options.policyFile)));
  const log = options.log ?? new StderrLog();
  const runtime = new LuaRuntime({ searchDirs, cpuLimitMs: options.cpuLimitMs, onCpuStop: options.onCpuStop, print: options.print, warn: (message) => log.write('warn', message) });
  const events = new EventRegistry(runtime);
  const ctx = new KumoContext(
    runtime,
    events,
    options.clock ?? new SystemClock(),
    log,
    { validating: options.mode?.validating ?? false, script: options.mode?.script ?? false },
    options.nodeId ?? randomUUID(),
  );
  installKumoModule(ctx);
  if (ctx.mode.validating) {
    const L = runtime.L;
    runtime.evaluate('_VALIDATING_CONFIG = true', () => undefined).catch(() => undefined);
    void L;
  }
  return ctx;
}

/** Runs the policy file's top level (where handlers are registered). */
export async function loadPolicyFile(ctx: KumoContext, file: string): Promise<void> {
  await ctx.runtime.runFile(file, POLICY_LOAD_LABEL);
}

/** Runs policy source given as text (tests, the harness). */
export async function loadPolicySource(ctx: KumoContext, source: string, chunkName = 'policy.lua'): Promise<void> {
  await ctx.runtime.runSource(source, `@${chunkName}`, POLICY_LOAD_LABEL);
}
