/**
 * Creates the subsystems a policy can reach (logging, spool, queues,
 * listeners' ports) and provides them to the kumo bindings through service
 * slots. Logging exists from the start (pre_init configures hooks); the spool
 * and the queue manager come to life after `init`, when the policy has said
 * where the spool lives — until then reception answers "waiting for spool
 * startup", as KumoMTA does.
 */
import type { KumoContext } from '../kumo/context.ts';
import type { PolicyOptions } from '../policy/create.ts';
import { Logging, LOGGING_SLOT } from '../logging/index.ts';
import { luaLoggingCallbacks } from '../kumo/logging.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { MESSAGE_INJECTOR, MESSAGE_SAVER } from '../message/store-slot.ts';
import type { Message } from '../message/message.ts';
import { FanOutSink } from '../records/fan-out.ts';
import type { RecordSink } from '../records/types.ts';
import { SqliteSpool, type SpoolOptions } from '../spool/sqlite-spool.ts';
import { SPOOL_DEFINITIONS, SpoolDefinitions } from '../spool/spool-definitions.ts';
import { QueueManager } from '../queue/manager.ts';
import { LuaConnectionFactory } from '../delivery/lua-connection.ts';
import { ADMIN_OPS, LISTENER_RECORDS, LISTENERS, MESSAGE_INTAKE, METRICS_SOURCES, SERVER_HEALTH, type AdminOps, type MetricsSource } from '../server/ports.ts';
import { adminOpsFor } from './admin-adapter.ts';
import { DeliveryLatencyTap, engineMetricsSource } from './metrics-adapter.ts';
import { closeDefaultAmqpPool } from '../kumo/amqp.ts';
import { SMTP_SERVICES } from '../delivery/smtp/services.ts';
import { egressPathResolver, engineHooks, queueConfigResolver, smtpPolicyServices } from './policy-bridge.ts';
import type { QueueConfigResolver } from '../queue/queue-registry.ts';
import { EGRESS_RESOLVER } from '../kumo/egress.ts';
import { configEpochOf, startConfigMonitor } from '../kumo/epoch.ts';
import { SystemClock } from '../util/clock.ts';
import { runtimeKnobsOf } from '../kumo/knobs.ts';
import { ACCT_LOG } from '../kumo/aaa.ts';
import { LuaPool } from '../pool/pool.ts';
import { LUA_LATENCY } from '../kumo/time.ts';
import { PooledConnectionFactory } from '../pool/pooled-connections.ts';

export interface Services {
  /** After init: open the spool, re-queue what it holds, start delivery. */
  start(): Promise<void>;
  /** Stops intake, drains delivery within its bound, then runs `beforeLogClose` and closes logs. */
  stop(beforeLogClose: () => Promise<void>): Promise<void>;
  /** --validate with --lua-threads: loads the policy in each worker state, then stops them. */
  checkWorkerStates(): Promise<void>;
  readonly logging: Logging;
  /** Every record (engine, listeners, logging) passes through here; taps may be added. */
  readonly records: FanOutSink;
  /** Present once started. */
  readonly manager: QueueManager | null;
  /** The worker Lua states (--lua-threads), once started. */
  readonly pool: LuaPool | null;
}

export interface ServiceOptions extends PolicyOptions {
  /**
   * Where a directory the policy names really goes (spool, local logs,
   * Maildir); the test harness redirects them all into a temp dir.
   */
  statePath?: (kind: StateKind, path: string) => string;
  /** Spool write failures (the daemon prints them); and the fault-injection seam of the spool's commits. */
  spoolWrites?: Pick<SpoolOptions, 'onWriteError' | 'beforeWrite'>;
  /**
   * `--lua-threads N`: custom_lua connections (log hooks, webhooks) run on a
   * pool of N Lua states on worker threads (src/pool); 0 or absent keeps them
   * on the main state.
   */
  luaThreads?: number;
}

export type StateKind = 'spool' | 'logs' | 'maildir';

/** Applies ServiceOptions.statePath to the maildir_path of the configs get_queue_config returns. */
function redirectMaildir(resolve: QueueConfigResolver, map: ((p: string) => string) | undefined): QueueConfigResolver {
  if (!map) return resolve;
  return async (...args) => {
    const config = await resolve(...args);
    return config.protocol.kind === 'maildir' ? { ...config, protocol: { ...config.protocol, maildirPath: map(config.protocol.maildirPath) } } : config;
  };
}

class NotRunningError extends Error {}

class DaemonServices implements Services {
  readonly logging: Logging;
  readonly records: FanOutSink;
  readonly spools = new SpoolDefinitions();
  readonly metricsSources: MetricsSource[] = [];
  manager: QueueManager | null = null;
  /** The worker states, with --lua-threads. */
  pool: LuaPool | null = null;
  private spool: SqliteSpool | null = null;
  private state: 'new' | 'running' | 'stopping' = 'new';
  private stopEpochWatch: () => void = () => undefined;
  private stopConfigMonitor: () => void = () => undefined;

  constructor(
    private readonly ctx: KumoContext,
    private readonly options: ServiceOptions,
  ) {
    this.logging = new Logging({
      clock: ctx.clock,
      nodeId: ctx.nodeId,
      logDirPath: options.statePath && ((dir) => options.statePath!('logs', dir)),
      onError: (err, where) => ctx.log.write('error', `${where}: ${err instanceof Error ? err.message : String(err)}`),
    });
    const latency = new DeliveryLatencyTap(ctx.clock);
    this.records = new FanOutSink(this.logging, latency);
    this.metricsSources.push(latency);
    const luaCallbacks = luaLoggingCallbacks(ctx, pushMessage);
    this.logging.setCallbacks({
      ...luaCallbacks,
      // With --lua-threads, should_enqueue_log_record runs on a worker state (its meta changes, such as
      // log_hooks' msg:set_meta('queue', ...), come back with the answer).
      shouldEnqueue: (msg, hookName) =>
        this.pool && !this.pool.closed && this.ctx.events.has('should_enqueue_log_record')
          ? this.pool.fireMessageEvent('should_enqueue_log_record', msg, [hookName])
          : luaCallbacks.shouldEnqueue(msg, hookName),
      // While stopping, the engine saves such messages for the next start. A
      // record of accepted mail is not dropped when the spool write fails: it
      // waits in memory until it can be saved (nothing can resend it).
      enqueue: (msg, opts) => this.engine('a log hook').insert(msg, { deferredSpool: opts.deferredSpool, keepOnSpoolFailure: true }),
    });
    ctx.provide(LOGGING_SLOT, this.logging);
    ctx.provide(LISTENER_RECORDS, this.records as RecordSink);
    ctx.provide(SPOOL_DEFINITIONS, this.spools);
    ctx.provide(METRICS_SOURCES, this.metricsSources);
    ctx.provide(SERVER_HEALTH, {
      unavailableReason: () => (this.state === 'new' ? 'waiting for spool startup' : this.state === 'stopping' ? 'shutting down' : null),
    });
    ctx.provide(MESSAGE_INTAKE, {
      save: async (msg, opts) => {
        if (opts.deferredSpool || msg.queueName() === 'null') return;
        await this.running('reception').spool.save(msg);
      },
      insert: (msg) => this.running('reception').insert(msg, { deferredSpool: true, logFailure: false, unwindOnFailure: true }),
    });
    ctx.provide(ADMIN_OPS, this.lazyAdmin());
    ctx.provide(MESSAGE_SAVER, async (msg: Message) => {
      await this.running('msg:save()').spool.save(msg);
    });
    ctx.provide(MESSAGE_INJECTOR, (msg, opts) => this.running('kumo.inject_message').insert(msg, { deferredSpool: opts.deferredSpool }));
  }

  /**
   * Listeners start in `init`, before the engine exists; admin calls reach
   * the engine's adapter once it runs and fail with a clear reason before.
   */
  private lazyAdmin(): AdminOps {
    let admin: AdminOps | null = null;
    return new Proxy({} as AdminOps, {
      get: (_target, prop: keyof AdminOps) => {
        admin ??= adminOpsFor(this.running('the admin API'));
        const member = admin[prop];
        return typeof member === 'function' ? (member as (...a: unknown[]) => unknown).bind(admin) : member;
      },
    });
  }

  /** The engine once it exists, running or stopping. */
  private engine(what: string): QueueManager {
    if (!this.manager) throw new NotRunningError(`${what}: the queue engine is not started yet (waiting for spool startup)`);
    return this.manager;
  }

  private running(what: string): QueueManager {
    if (!this.manager || this.state !== 'running') {
      throw new NotRunningError(`${what}: the queue engine is ${this.state === 'stopping' ? 'shutting down' : 'not started yet (waiting for spool startup)'}`);
    }
    return this.manager;
  }

  private startPool(threads: number): Promise<LuaPool> {
    if (!this.options.policyFile) throw new Error('--lua-threads needs the policy file (each worker state loads it)');
    return LuaPool.start({
      threads,
      policyFile: this.options.policyFile,
      luaPaths: this.options.luaPaths,
      cpuLimitMs: this.options.cpuLimitMs,
      nodeId: this.ctx.nodeId,
      runtime: this.ctx.runtime,
      log: this.ctx.log,
      print: this.options.print,
      onCpuStop: this.options.onCpuStop,
      clock: this.ctx.clock,
      onConfigEpoch: (bumped) => configEpochOf(this.ctx).subscribe(bumped),
      inject: (msg, opts) => this.ctx.require(MESSAGE_INJECTOR, 'kumo.inject_message')(msg, opts),
      observeLatency: (label, seconds) => this.ctx.optional(LUA_LATENCY)?.observe(label, seconds),
    });
  }

  /** --validate with --lua-threads: every worker state must load the policy too; then they stop. */
  async checkWorkerStates(): Promise<void> {
    if (!this.options.luaThreads) return;
    const pool = await this.startPool(this.options.luaThreads);
    await pool.close();
  }

  async start(): Promise<void> {
    if (this.manager) return;
    const params = this.spools.primary();
    const path = this.options.statePath?.('spool', params.path) ?? params.path;
    if (this.options.luaThreads) this.pool = await this.startPool(this.options.luaThreads);
    this.spool = new SqliteSpool({ path, flush: params.flush, minFreeSpace: params.minFreeSpace, minFreeInodes: params.minFreeInodes, ...this.options.spoolWrites });
    this.manager = new QueueManager({
      clock: this.ctx.clock,
      spool: this.spool,
      records: this.records,
      connections: this.pool ? new PooledConnectionFactory(this.pool) : new LuaConnectionFactory(this.ctx.runtime, this.ctx.events),
      resolveQueueConfig: redirectMaildir(queueConfigResolver(this.ctx), this.options.statePath && ((p) => this.options.statePath!('maildir', p))),
      resolveEgressPathConfig: egressPathResolver(this.ctx),
      hooks: engineHooks(this.ctx),
      egress: this.ctx.require(EGRESS_RESOLVER, 'the queue engine'),
      suspendDeliveryWhenSpoolUnhealthy: runtimeKnobsOf(this.ctx).suspendDeliveryWhenSpoolUnhealthy,
      smtp: {
        ...smtpPolicyServices(this.ctx),
        classify: (r) => this.logging.builder.classify?.('TransientFailure', r) ?? 'Uncategorized',
        ...this.ctx.optional(SMTP_SERVICES),
      },
    });
    const manager = this.manager;
    this.stopEpochWatch = configEpochOf(this.ctx).subscribe(() => manager.bumpConfigEpoch());
    // It watches real files, so it runs on real time only (the harness's virtual clock would spin it).
    if (!this.ctx.mode.validating && this.ctx.clock instanceof SystemClock) this.stopConfigMonitor = startConfigMonitor(this.ctx);
    this.metricsSources.push(engineMetricsSource(this.manager, this.logging, this.ctx.clock));
    this.state = 'running';
    const summary = await this.manager.start();
    this.ctx.log.write('info', `spool ${this.spool.file}: ${JSON.stringify(summary)}`);
  }

  async stop(beforeLogClose: () => Promise<void>): Promise<void> {
    this.state = 'stopping';
    this.stopConfigMonitor();
    this.stopEpochWatch();
    await this.ctx.optional(LISTENERS)?.closeAll();
    await this.manager?.shutdown();
    await beforeLogClose();
    // Hooks drain into the (stopping) engine, which spools what they hand it,
    // so the spool closes only after logging has flushed.
    await this.logging.close();
    // Every connection is closed and no record is left to filter: the worker states can go.
    await this.pool?.close();
    await this.ctx.optional(ACCT_LOG)?.close();
    await this.spool?.flush();
    this.spool?.close();
    await closeDefaultAmqpPool();
  }
}

export function wireServices(ctx: KumoContext, options: ServiceOptions): Services {
  return new DaemonServices(ctx, options);
}
