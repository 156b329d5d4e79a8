/**
 * A whole kumo-lua daemon (Kumod) for end-to-end tests: the policy written to
 * a file in a temp state dir, real SQLite spool and log files under that dir,
 * listeners on 127.0.0.1:0, and a recording tap on every record.
 *
 *   const d = await startDaemon({ policy: (dir) => `... kumo.define_spool{ path = '${dir}/spool' } ...` });
 *   await fetch(`${d.httpUrl}/api/inject/v1`, ...);
 *   await d.waitFor(() => d.recordsOf('Delivery').length === 1, 'delivery');
 *   await d.stop();
 *
 * Also: spawning the real CLI (`node bin/kumo-lua.mjs ...`) as a child process
 * for the crash and command-line tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kumod } from '../../src/daemon/kumod.ts';
import type { ServiceOptions } from '../../src/daemon/services.ts';
import { loadPolicyFile } from '../../src/policy/create.ts';
import { MemoryLog } from '../../src/kumo/diagnostics.ts';
import { LISTENERS } from '../../src/server/ports.ts';
import { RecordRecorder } from '../../src/testing/record-recorder.ts';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { WebhookSink } from './webhook-sink.ts';
import type { QueueManager } from '../../src/queue/manager.ts';
import { SystemClock, VirtualClock, settle, type Clock } from '../../src/util/clock.ts';
import { engineIdle } from './engine.ts';
import type { JsonObject } from '../../src/util/json.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'bin/kumo-lua.mjs');

/**
 * For a test file that spawns the CLI on small policies: a temp dir made
 * before all tests and removed after, and `policyFile(name, lines)` writing one
 * policy into it.
 */
export function usePolicyDir(prefix: string): { policyFile(name: string, lines: string[]): string; readonly dir: string } {
  let dir = '';
  beforeAll(() => {
    dir = makeStateDir(prefix);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    policyFile(name, lines) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, lines.join('\n') + '\n');
      return file;
    },
  };
}

export function makeStateDir(prefix = 'kumo-e2e-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface DaemonOptions {
  /** Policy source; receives the state dir so it can place spool, logs and maildir there. */
  policy: (stateDir: string) => string;
  /** Reuse a state dir (restart tests); otherwise a fresh temp dir is made and removed on stop. */
  stateDir?: string;
  clock?: Clock;
  /** Forwarded `print` output; collected in `printed` either way. */
  print?: (line: string) => void;
  /** Spool write callbacks and the fault-injection seam (test/faults). */
  spoolWrites?: ServiceOptions['spoolWrites'];
  /** The Lua CPU guard's limit (default 10 s). */
  cpuLimitMs?: number;
  /** `--lua-threads`: custom_lua connections on a pool of worker states. */
  luaThreads?: number;
}

export interface TestDaemon {
  kumod: Kumod;
  stateDir: string;
  policyFile: string;
  clock: Clock;
  /** Diagnostics (kumo.log_*, engine errors). */
  log: MemoryLog;
  printed: string[];
  /** Every record the daemon logged, as KumoMTA's JSON (no captured headers/meta). */
  recorder: RecordRecorder;
  /** `http://127.0.0.1:<port>` of the first HTTP listener, if any. */
  httpUrl: string | null;
  /** Port of the first ESMTP listener, if any. */
  smtpPort: number | null;
  manager: QueueManager;
  recordsOf(type: string): JsonObject[];
  /** Bounded real-time polling (lets sockets, HTTP and spool commits progress). */
  waitFor(cond: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Graceful shutdown; removes the state dir when the helper created it (unless `keepState`). */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

function listenerAddress(kumod: Kumod, kind: 'http' | 'esmtp'): string | null {
  return kumod.ctx.optional(LISTENERS)?.all.find((l) => l.kind === kind)?.address ?? null;
}

export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function startDaemon(options: DaemonOptions): Promise<TestDaemon> {
  const ownDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? makeStateDir();
  const policyFile = path.join(stateDir, 'policy.lua');
  fs.writeFileSync(policyFile, options.policy(stateDir));
  const clock = options.clock ?? new SystemClock();
  const log = new MemoryLog();
  const printed: string[] = [];
  const kumod = Kumod.create({
    runMode: 'serve',
    policyFile,
    clock,
    log,
    spoolWrites: options.spoolWrites,
    cpuLimitMs: options.cpuLimitMs,
    luaThreads: options.luaThreads,
    print: (line) => {
      printed.push(line);
      options.print?.(line);
    },
  });
  const recorder = new RecordRecorder(kumod.services.logging.builder);
  kumod.services.records.add(recorder);
  try {
    await loadPolicyFile(kumod.ctx, policyFile);
    await kumod.initialize();
  } catch (e) {
    await kumod.shutdown().catch(() => undefined);
    if (ownDir) fs.rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
  const http = listenerAddress(kumod, 'http');
  const smtp = listenerAddress(kumod, 'esmtp');
  const manager = kumod.services.manager;
  if (!manager) throw new Error('daemon: the queue engine did not start (no spool defined?)');
  return {
    kumod,
    stateDir,
    policyFile,
    clock,
    log,
    printed,
    recorder,
    httpUrl: http ? `http://${http}` : null,
    smtpPort: smtp ? Number(smtp.slice(smtp.lastIndexOf(':') + 1)) : null,
    manager,
    recordsOf: (type) => recorder.ofType(type),
    waitFor: waitUntil,
    async stop(opts = {}) {
      await kumod.shutdown();
      if (ownDir && !opts.keepState) fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Lua string literal for a path (single-quoted; temp paths hold no quotes). */
export function luaPath(p: string): string {
  if (/['\\\n]/.test(p)) throw new Error(`path not usable in a Lua literal: ${p}`);
  return `'${p}'`;
}

/** POSTs an HTTP injection request; returns status and parsed body. */
export async function injectHttp(httpUrl: string, body: unknown): Promise<{ status: number; json: JsonObject; text: string }> {
  const res = await fetch(`${httpUrl}/api/inject/v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: JsonObject = {};
  try {
    json = JSON.parse(text) as JsonObject;
  } catch {
    // not JSON: the test reads `text`
  }
  return { status: res.status, json, text };
}

// ---------------------------------------------------------------- virtual time

/** No dispatcher mid-send, nothing promoted, spool committed, no log-hook record waiting to be enqueued. */
export function daemonIdle(d: TestDaemon): boolean {
  if (!engineIdle(d.manager)) return false;
  return d.kumod.services.logging.stats().hooks.every((h) => h.queued === 0 && h.inFlight === 0);
}

/** Real-time turns (bounded) until the daemon is idle, twice in a row: HTTP round trips and spool commits finish. */
export async function quiesceDaemon(d: TestDaemon, timeoutMs = 10_000): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3; i++) {
      await settle();
      await new Promise((r) => setTimeout(r, 2));
    }
    await waitUntil(() => daemonIdle(d), 'daemon idle', timeoutMs);
  }
}

/**
 * Moves the daemon's VirtualClock forward `ms` in steps of `stepMs`; after
 * each step lets the real I/O it started finish before time moves on.
 */
export async function advanceDaemon(d: TestDaemon, ms: number, stepMs = ms): Promise<void> {
  const clock = d.clock;
  if (!(clock instanceof VirtualClock)) throw new Error('advanceDaemon: the daemon runs on a SystemClock');
  await quiesceDaemon(d);
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done), 20);
    await quiesceDaemon(d);
  }
}

// ---------------------------------------------------------------- spawned CLI

export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Bounded polling of the collected output. */
  waitForOutput(re: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(re, stream = 'stderr', timeoutMs = 30_000) {
      let m: RegExpMatchArray | null = null;
      let done = false;
      void exited.then(() => (done = true));
      await waitUntil(() => {
        m = (stream === 'stdout' ? out : err).match(re);
        return m !== null || done;
      }, `${re} on ${stream}`, timeoutMs);
      if (!m) throw new Error(`process exited before ${re} appeared on ${stream}; stdout:\n${out}\nstderr:\n${err}`);
      return m;
    },
  };
}

/** Runs the CLI to completion (bounded); kills it when the deadline passes. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, opts);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

// ---------------------------------------------------------------- policies

export interface MaildirWebhookPolicyOptions {
  /** Webhook endpoint for policy-extras.log_hooks new_json. */
  webhookUrl: string;
  /** Extra fields of the log_hooks:new_json table, as Lua source (e.g. `batch_size = 10,`). */
  hookExtra?: string;
  /** Lua placed before the policy's own handlers (e.g. more log_hooks, whose get_queue_config must come first). */
  prelude?: string;
  /** Extra Lua appended at the end of the policy. */
  extra?: string;
}

/**
 * The quickstart's shape on temp paths and ephemeral ports: SMTP and HTTP in,
 * Maildir out, every record published by log_hooks:new_json with the Subject
 * and X-* headers and the `tenant` and `via` meta captured. Reception sets the
 * meta from the X-Tenant header and the protocol it came in on.
 */
export function maildirWebhookPolicy(o: MaildirWebhookPolicyOptions): (dir: string) => string {
  return (dir) => `
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

log_hooks:new_json {
  name = 'webhook',
  url = '${o.webhookUrl}',
  log_parameters = { headers = { 'Subject', 'X-*' }, meta = { 'tenant', 'via' } },
  ${o.hookExtra ?? ''}
}
${o.prelude ?? ''}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.configure_local_logs { log_dir = ${luaPath(dir + '/logs')} }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.1' } }
end)

local function tag(msg, via)
  local tenant = msg:get_first_named_header_value('X-Tenant')
  if tenant then msg:set_meta('tenant', tenant) end
  msg:set_meta('via', via)
end
kumo.on('smtp_server_message_received', function(msg) tag(msg, 'smtp') end)
kumo.on('http_message_generated', function(msg) tag(msg, 'http') end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
${o.extra ?? ''}
`;
}

/** Files delivered to `<stateDir>/maildir/new`, with their content. */
export function maildirMessages(stateDir: string): { name: string; text: string }[] {
  const dir = path.join(stateDir, 'maildir', 'new');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).sort().map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), 'utf8') }));
}

/** A record as the webhook sink received it. */
export type WebhookRecord = Record<string, unknown> & { type: string; id: string; headers: Record<string, string>; meta: Record<string, unknown> };

/**
 * For a test file: before each test, a webhook sink and a daemon running
 * maildirWebhookPolicy against it; both stopped after each test.
 */
export function useMaildirWebhookDaemon() {
  let sink: WebhookSink;
  let daemon: TestDaemon;
  beforeEach(async () => {
    sink = await WebhookSink.start();
    daemon = await startDaemon({ policy: maildirWebhookPolicy({ webhookUrl: `${sink.url}/events` }) });
  });
  afterEach(async () => {
    await daemon?.stop();
    await sink.close();
  });
  return {
    get sink() {
      return sink;
    },
    get daemon() {
      return daemon;
    },
    /** Every record the sink received, parsed. */
    received: (): WebhookRecord[] => sink.requests.map((r) => r.json() as WebhookRecord),
    /** Waits for `n` hook requests and for the hook messages themselves to be delivered. */
    async settleHook(n: number): Promise<void> {
      await daemon.waitFor(() => sink.requests.length >= n, `${n} webhook requests`);
      await daemon.waitFor(() => daemon.recordsOf('Delivery').filter((r) => r.queue === 'webhook.log_hook').length >= n, 'hook deliveries logged');
    },
  };
}
