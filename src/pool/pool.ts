/**
 * A pool of Lua states on worker threads (issue 13, lua-api.md §1.1/§2.4):
 * each worker loads the policy's top level; custom_lua connections are built
 * on the least busy worker and stay there. Engine-facing functions a worker
 * calls come back to the main state through one request/reply message
 * (`rpc`, see worker-surface.ts). Created with `--lua-threads N`.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { LuaRuntime } from '../lua/runtime.ts';
import type { DiagnosticLog, LogLevel } from '../kumo/diagnostics.ts';
import { SystemClock, type Clock } from '../util/clock.ts';
import { MainCalls, type MainCallsOptions } from './main-calls.ts';
import type { Message } from '../message/message.ts';
import { applyMetaChanges, errorFromWire, snapshotOf, type FromWorker, type MessageEventReply, type ToWorker, type WireJson, type WorkerInit } from './wire.ts';

export interface LuaPoolOptions {
  threads: number;
  policyFile: string;
  luaPaths?: readonly string[];
  cpuLimitMs?: number;
  nodeId: string;
  /** The main state: routed calls run here. */
  runtime: LuaRuntime;
  log: DiagnosticLog;
  print?: (line: string) => void;
  onCpuStop?: (message: string) => void;
  /** The clock of the shared memoize caches (the daemon's). */
  clock?: Clock;
  /** Subscribes to config epoch bumps (memoize's invalidate_with_epoch); returns the unsubscribe. */
  onConfigEpoch?: (bumped: () => void) => () => void;
  /** Queues a message a worker made with kumo.inject_message. */
  inject?: MainCallsOptions['inject'];
  observeLatency?: MainCallsOptions['observeLatency'];
}

type Request = Exclude<ToWorker, { t: 'rpc-reply' } | { t: 'shutdown' }>;
type Body<T extends Request['t']> = Omit<Extract<Request, { t: T }>, 'id'>;

/**
 * The worker's entry: the compiled one in dist/ next to the bundle, or, when
 * running from the TypeScript sources, a bootstrap that registers tsx first.
 */
function workerEntry(): URL {
  const here = import.meta.url;
  // Bundled code lives two levels below the package root (dist/cli, dist/chunks).
  if (!here.endsWith('.ts')) return new URL('../pool/worker-main.js', here);
  return freshCompiledWorker(new URL('../../', here)) ?? new URL('./worker-boot.mjs', here);
}

/**
 * From the sources (tests, benches) the workers still use dist/ when it is up
 * to date, by bin/compiled.mjs's rule (not older than any file under src/,
 * KUMO_LUA_FROM_SOURCE=1 forces tsx): a worker then starts in a fraction of
 * the time and loads no module through tsx while it serves.
 */
function freshCompiledWorker(root: URL): URL | null {
  const entry = new URL('dist/pool/worker-main.js', root);
  if (process.env.KUMO_LUA_FROM_SOURCE || !fs.existsSync(entry)) return null;
  const builtAt = fs.statSync(entry).mtimeMs;
  const src = new URL('src/', root);
  for (const name of fs.readdirSync(src, { recursive: true }) as string[]) {
    if (fs.statSync(new URL(name, src)).mtimeMs > builtAt) return null;
  }
  return entry;
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

export class LuaWorker {
  /** Calls sent and not answered yet: the pool's measure of how busy this state is. */
  inFlight = 0;
  /** custom_lua connections open on this state. */
  connections = 0;
  /** Constructor events this state has run (tests and diagnostics). */
  connects = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  exited = false;
  /** Set by close(): the exit that follows is expected, not a crash. */
  private closing = false;
  readonly ready: Promise<void>;
  private readonly exit: Promise<void>;

  constructor(
    readonly index: number,
    private readonly pool: LuaPool,
    init: WorkerInit & { logLevels: LogLevel[] },
  ) {
    const worker = new Worker(workerEntry(), { workerData: init });
    this.worker = worker;
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((readyResolve = res), (readyReject = rej)));
    this.ready.catch(() => undefined);
    worker.on('message', (m: FromWorker) => {
      switch (m.t) {
        case 'ready':
          return readyResolve();
        case 'load-failed':
          // Say which state failed: the policy loaded on the main state, so the cause is worker-specific.
          return readyReject(errorFromWire({ ...m.error, message: `Lua worker ${index} (--lua-threads) could not load the policy: ${m.error.message}` }));
        case 'reply': {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (!p) return;
          if (m.ok) p.resolve(m.value);
          else p.reject(errorFromWire(m.error));
          return;
        }
        case 'rpc':
          void this.pool.routed(m.fn, m.args).then(
            (values) => this.post({ t: 'rpc-reply', id: m.id, ok: true, values }),
            (e: unknown) => this.post({ t: 'rpc-reply', id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
          );
          return;
        case 'log':
          return this.pool.options.log.write(m.level, m.text);
        case 'print':
          return (this.pool.options.print ?? ((l: string) => process.stdout.write(l + '\n')))(m.line);
        case 'cpu-stop':
          return this.pool.options.onCpuStop?.(m.message);
        case 'closed':
          return;
      }
    });
    this.exit = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.exited = true;
        const gone = new Error(`Lua worker ${index} exited`);
        readyReject(gone);
        for (const p of this.pending.values()) p.reject(gone);
        this.pending.clear();
        resolve();
        if (!this.closing) this.pool.crashed(this, code);
      });
    });
    worker.on('error', (e) => this.pool.options.log.write('error', `Lua worker ${index}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
  }

  private readonly worker: Worker;

  private post(m: ToWorker): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  /**
   * Sends one request once the state has loaded the policy and waits for its
   * reply; counts toward inFlight meanwhile.
   */
  async request<T extends Request['t']>(t: T, body: Omit<Body<T>, 't'>): Promise<unknown> {
    this.inFlight++;
    try {
      await this.ready;
      if (this.exited) throw new Error(`Lua worker ${this.index} has exited`);
      const id = this.nextId++;
      return await new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.post({ ...body, t, id } as unknown as ToWorker);
      });
    } finally {
      this.inFlight--;
    }
  }

  /** Stops the thread at once, as a crash would (tests). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  /** Asks the worker to close its connections and state, then waits for it to exit (terminates it after `graceMs`). */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.exited) return;
    this.post({ t: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([this.exit, late])) === 'late') await this.worker.terminate();
    clearTimeout(timer);
    await this.exit;
  }
}

export class LuaPool {
  readonly workers: LuaWorker[];
  private closing: Promise<void> | null = null;
  /** What the workers' routed calls reach on the main thread. */
  readonly calls: MainCalls;

  private constructor(readonly options: LuaPoolOptions) {
    this.calls = new MainCalls(options.runtime, { clock: options.clock ?? new SystemClock(), onConfigEpoch: options.onConfigEpoch, inject: options.inject, observeLatency: options.observeLatency });
    this.workers = Array.from({ length: options.threads }, (_, index) => this.spawn(index));
  }

  private spawn(index: number): LuaWorker {
    const o = this.options;
    return new LuaWorker(index, this, {
      index,
      policyFile: o.policyFile,
      luaPaths: [...(o.luaPaths ?? [])],
      cpuLimitMs: o.cpuLimitMs,
      nodeId: o.nodeId,
      logLevels: LEVELS.filter((l) => o.log.enabled(l)),
    });
  }

  /** Worker threads started to replace ones that died. */
  restarts = 0;

  /**
   * A worker thread died outside close() (an uncaught error, a terminate):
   * its connections fail their next send (the engine then closes them and
   * retries the messages); a fresh state takes its place for new ones.
   */
  crashed(worker: LuaWorker, code: number): void {
    if (this.closing || this.workers[worker.index] !== worker) return;
    this.options.log.write('error', `Lua worker ${worker.index} exited unexpectedly (code ${code}); starting a new one`);
    this.restarts++;
    const fresh = this.spawn(worker.index);
    this.workers[worker.index] = fresh;
    fresh.ready.catch((e: unknown) => this.options.log.write('error', `Lua worker ${worker.index} could not restart: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Starts the workers and waits until every one has loaded the policy (a load error rejects). */
  static async start(options: LuaPoolOptions): Promise<LuaPool> {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error(`--lua-threads: expected a positive integer, got ${options.threads}`);
    const pool = new LuaPool(options);
    try {
      await Promise.all(pool.workers.map((w) => w.ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** The least busy worker: fewest calls in flight, then fewest connections, then lowest index. */
  leastBusy(): LuaWorker {
    let best: LuaWorker | null = null;
    for (const w of this.workers) {
      if (w.exited) continue; // a worker that died (an uncaught error) takes no new connections
      if (!best || w.inFlight < best.inFlight || (w.inFlight === best.inFlight && w.connections < best.connections)) best = w;
    }
    if (!best) throw new Error('every Lua worker state has exited (see the errors logged before)');
    return best;
  }

  /**
   * Fires an event that takes a message (plus string arguments) and answers a
   * boolean on the least busy worker; meta the handlers set is applied to
   * `msg` before this resolves. Used for should_enqueue_log_record.
   */
  async fireMessageEvent(name: string, msg: Message, args: string[]): Promise<boolean> {
    const reply = (await this.leastBusy().request('message-event', { name, message: snapshotOf(msg), args })) as MessageEventReply;
    applyMetaChanges([msg], reply.metaChanges);
    return reply.value;
  }

  /** A routed call from a worker (worker-surface.ts), answered on the main thread. */
  routed(fn: string, args: WireJson[]): Promise<WireJson[]> {
    return this.calls.routed(fn, args);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Closes every worker (their connections first); safe to call more than once. */
  close(graceMs = 5000): Promise<void> {
    this.calls.close();
    this.closing ??= Promise.all(this.workers.map((w) => w.close(graceMs))).then(() => undefined);
    return this.closing;
  }
}

