/** `kumo-lua [--policy] FILE`, `--script` and `--validate`. */
import fs from 'node:fs';
import { Kumod, type KumodMode } from '../daemon/kumod.ts';
import { luaPathsFromEnv } from '../policy/create.ts';
import { LuaError } from '../lua/errors.ts';
import { neverFiredWarnings } from '../kumo/never-fired.ts';
import { lua } from '../lua/fengari.ts';
import { keyBytes } from '../lua/strings.ts';
import { SPOOL_DEFINITIONS } from '../spool/spool-definitions.ts';
import type { KumoContext } from '../kumo/context.ts';
import { failureReporters } from './failure-lines.ts';

export interface RunPolicyArgs {
  policyFile: string | undefined;
  luaPaths: string[];
  script: boolean;
  validate: boolean;
  scriptArgs: string[];
  /** `--lua-threads N`: custom_lua connections on N worker states (serve mode only). */
  luaThreads?: number;
}

/**
 * A hint for Lua errors whose text misleads a KumoMTA user: `kumo` is a
 * module (as in KumoMTA), so documentation snippets pasted without the
 * `require` fail with a nil index on the global.
 */
export function errorHint(message: string): string | undefined {
  if (message.includes("(global 'kumo')")) return "hint: kumo is a module, not a global: start the policy with `local kumo = require 'kumo'`";
  return undefined;
}

/** Prints an error the way an operator needs it: message, then the Lua traceback. */
export function reportError(prefix: string, e: unknown): void {
  const text = e instanceof LuaError ? e.describe() : e instanceof Error ? e.message : String(e);
  process.stderr.write(`${prefix}${text}\n`);
  const hint = errorHint(text);
  if (hint) process.stderr.write(`${hint}\n`);
}

export async function runPolicyCommand(args: RunPolicyArgs): Promise<number> {
  if (!args.policyFile) {
    process.stderr.write('kumo-lua: no policy file given (kumo-lua [--policy] init.lua)\n');
    return 2;
  }
  if (!fs.existsSync(args.policyFile)) {
    process.stderr.write(`kumo-lua: policy file ${args.policyFile} does not exist\n`);
    return 2;
  }
  if (args.script && args.validate) {
    process.stderr.write('kumo-lua: --script and --validate cannot be combined\n');
    return 2;
  }
  const mode: KumodMode = args.script ? 'script' : args.validate ? 'validate' : 'serve';
  const luaPaths = [...args.luaPaths, ...luaPathsFromEnv()];

  const report = failureReporters((line) => process.stderr.write(line + '\n'));
  // Listening from before start-up: a signal that lands while the policy and
  // the worker states load (or the spool is requeued) still ends in a clean
  // shutdown once start-up is done, instead of Node's default kill.
  const stopSignals = mode === 'serve' ? new StopSignals() : null;
  let kumod: Kumod;
  try {
    kumod = await Kumod.start({
      policyFile: args.policyFile,
      luaPaths,
      runMode: mode,
      luaThreads: args.luaThreads,
      onCpuStop: report.onCpuStop,
      spoolWrites: { onWriteError: report.onSpoolWriteError },
    });
    kumod.services.records.add(report.hookTap);
  } catch (e) {
    stopSignals?.dispose();
    reportError(mode === 'validate' ? 'Validation failed: ' : 'kumo-lua: failed to start: ', e);
    return 1;
  }

  if (mode === 'validate') {
    // What serving would refuse, validation refuses too.
    const missingSpool = problemOf(() => kumod.ctx.optional(SPOOL_DEFINITIONS)?.primary());
    await kumod.shutdown();
    for (const line of neverFiredWarnings(kumod.ctx.events.names())) process.stderr.write(`${line}\n`);
    if (missingSpool) {
      process.stderr.write(`Validation failed: ${missingSpool}\n`);
      return 1;
    }
    if (kumod.ctx.validationFailed) {
      process.stderr.write('Validation failed\n');
      return 1;
    }
    process.stdout.write(`${args.policyFile}: OK\n`);
    return 0;
  }

  if (mode === 'script') {
    const noMain = missingMainReason(kumod.ctx);
    if (noMain) {
      process.stderr.write(`kumo-lua: --script: ${noMain}\n`);
      await kumod.shutdown();
      return 1;
    }
    try {
      await kumod.runMain(args.scriptArgs);
      return 0;
    } catch (e) {
      reportError('kumo-lua: main failed: ', e);
      return 1;
    } finally {
      await kumod.shutdown();
    }
  }

  return serveUntilSignalled(kumod, stopSignals!);
}

function problemOf(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why --script has nothing to run, or null when a `main` handler is registered. */
function missingMainReason(ctx: KumoContext): string | null {
  if (ctx.events.has('main')) return null;
  const L = ctx.runtime.L;
  lua.lua_getglobal(L, keyBytes('main'));
  const isFunction = lua.lua_isfunction(L, -1);
  lua.lua_pop(L, 1);
  if (isFunction) {
    return "the policy defines a global function main, but --script fires the 'main' event: register it with kumo.on('main', function(...) ... end)";
  }
  return "the policy registers no 'main' handler: add kumo.on('main', function(...) ... end)";
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * The first SIGTERM, SIGINT or SIGHUP (KumoMTA shuts down on HUP too), kept
 * until asked for. After it the handlers are gone, so a second Ctrl-C ends the
 * process at once.
 */
class StopSignals {
  private received: NodeJS.Signals | null = null;
  private waiting: ((signal: NodeJS.Signals) => void) | null = null;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.dispose();
    if (this.waiting) this.waiting(signal);
    else this.received = signal;
  };

  constructor() {
    for (const s of STOP_SIGNALS) process.on(s, this.onSignal);
  }

  next(): Promise<NodeJS.Signals> {
    if (this.received) return Promise.resolve(this.received);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  dispose(): void {
    for (const s of STOP_SIGNALS) process.off(s, this.onSignal);
  }
}

/** Serves until a stop signal, then shuts down cleanly. */
async function serveUntilSignalled(kumod: Kumod, signals: StopSignals): Promise<number> {
  // Keeps the process alive even when the policy starts no listener.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    const signal = await signals.next();
    process.stderr.write(`kumo-lua: ${signal} received, shutting down\n`);
    await kumod.shutdown();
    return 0;
  } catch (e) {
    reportError('kumo-lua: shutdown failed: ', e);
    return 1;
  } finally {
    clearInterval(keepAlive);
  }
}
