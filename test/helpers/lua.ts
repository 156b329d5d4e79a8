/**
 * Runs Lua snippets against a fresh kumo-lua state. `evalLua` returns the
 * chunk's first result as JSON (tables converted with KumoMTA's rules).
 */
import { createKumoContext, loadPolicySource, type PolicyOptions } from '../../src/policy/create.ts';
import type { KumoContext } from '../../src/kumo/context.ts';
import { toJson } from '../../src/lua/marshal.ts';
import { MemoryLog } from '../../src/kumo/diagnostics.ts';
import type { JsonValue } from '../../src/util/json.ts';

export interface TestContext {
  ctx: KumoContext;
  printed: string[];
  log: MemoryLog;
  /** Runs a chunk (with `local kumo = require 'kumo'` prepended) and returns its first result as JSON. */
  eval(code: string): Promise<JsonValue>;
  /** Loads policy source as the policy top level (kumo.on allowed). */
  load(code: string, chunkName?: string): Promise<void>;
}

export function newLua(options: PolicyOptions = {}): TestContext {
  const printed: string[] = [];
  const log = new MemoryLog();
  const ctx = createKumoContext({ print: (l) => printed.push(l), log, ...options });
  return {
    ctx,
    printed,
    log,
    eval: (code) => ctx.runtime.evaluate(`local kumo = require 'kumo'\n${code}`, (co, n) => (n > 0 ? toJson(co, 1, { keepArrayMarker: true }) : null), 'test'),
    load: (code, chunkName) => loadPolicySource(ctx, code, chunkName),
  };
}

/** One-shot: a fresh state, one chunk, its first result. */
export async function evalLua(code: string, options: PolicyOptions = {}): Promise<JsonValue> {
  return newLua(options).eval(code);
}

/** The message of the error a promise rejects with; fails the test if it resolves. */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a Lua error');
}
