import { ServiceSlot } from '../kumo/context.ts';
import type { Message } from '../message/message.ts';
import { type BounceClassifier, RecordBuilder } from '../records/builder.ts';
import { CompiledCapture } from '../records/capture.ts';
import type { LogRecord } from '../records/log-record.ts';
import type { RecordEvent, RecordSink } from '../records/types.ts';
import type { Clock } from '../util/clock.ts';
import { LocalLogger, type LocalLoggerStats, parseLocalLogOptions } from './local-logs.ts';
import { DispositionHook, type EnqueueOptions, type HookCallbacks, LogHook, type LogHookStats, parseLogHookOptions } from './log-hooks.ts';
import { LoggingConfigError } from './options.ts';

export { LoggingConfigError, LocalLogger, LogHook, DispositionHook };
export type { EnqueueOptions, LocalLoggerStats, LogHookStats };

/** The engine/Lua side the logging layer calls into; set later via setCallbacks when the policy loads. */
export interface LoggingCallbacks extends HookCallbacks {
  /** Runs a local logger's `filter_event` handler; unregistered or failing events mean "don't log". */
  filterEvent(eventName: string, msg: Message): Promise<boolean>;
  /** Fires `log_disposition_<hookName>(msg, record)`; awaited before the producer continues. */
  disposition(hookName: string, msg: Message, record: LogRecord): Promise<void>;
}

export interface LoggingOptions {
  clock: Clock;
  /** Hyphenated lowercase node UUID written as `nodeid`. */
  nodeId: string;
  classify?: BounceClassifier | null;
  callbacks?: Partial<LoggingCallbacks>;
  /** Where a configured log_dir really goes (the test harness redirects into a temp dir). */
  logDirPath?: (dir: string) => string;
  /** Diagnostic log; defaults to console.error. */
  onError?: (err: unknown, where: string) => void;
}

export interface LoggingStats {
  /** Records handed to log(), by type. */
  recordsLogged: Record<string, number>;
  localLogs: LocalLoggerStats[];
  hooks: LogHookStats[];
}

const DEFAULT_CALLBACKS: LoggingCallbacks = {
  filterEvent: async () => false,
  shouldEnqueue: async () => false,
  enqueue: async () => {
    throw new Error('no queue manager is attached to logging');
  },
  disposition: async () => {},
};

const NO_CAPTURE = new CompiledCapture({ meta: [], headers: [] });

/**
 * Every configured logger of the process. Producers call `log(event)`; it
 * builds the record once per distinct capture configuration and fans it out
 * to local logs, log hooks and disposition hooks, waiting where a logger
 * applies back-pressure.
 */
export class Logging implements RecordSink {
  readonly builder: RecordBuilder;
  private callbacks: LoggingCallbacks;
  private readonly onError: (err: unknown, where: string) => void;
  private readonly localLogs: LocalLogger[] = [];
  private readonly hooks: LogHook[] = [];
  private readonly dispositionHooks: DispositionHook[] = [];
  private readonly hookNames = new Set<string>();
  private readonly counts: Record<string, number> = {};

  constructor(private readonly options: LoggingOptions) {
    this.builder = new RecordBuilder({ clock: options.clock, nodeId: options.nodeId, classify: options.classify ?? null });
    this.callbacks = { ...DEFAULT_CALLBACKS, ...options.callbacks };
    this.onError = options.onError ?? ((err, where) => console.error(`[logging] ${where}:`, err));
  }

  setCallbacks(callbacks: Partial<LoggingCallbacks>): void {
    this.callbacks = { ...this.callbacks, ...callbacks };
  }

  setClassifier(classify: BounceClassifier | null): void {
    this.builder.classify = classify;
  }

  /** `kumo.configure_local_logs` */
  async configureLocalLogs(params: unknown): Promise<LocalLogger> {
    const config = parseLocalLogOptions(params);
    if (this.options.logDirPath) config.logDir = this.options.logDirPath(config.logDir);
    const logger = await LocalLogger.create(config, { clock: this.options.clock, onError: this.onError });
    this.localLogs.push(logger);
    return logger;
  }

  /** `kumo.configure_log_hook` */
  configureLogHook(params: unknown): LogHook {
    const config = parseLogHookOptions(params);
    this.claimName(config.name);
    const hook = new LogHook(config, { clock: this.options.clock, callbacks: () => this.callbacks, onError: this.onError });
    this.hooks.push(hook);
    return hook;
  }

  /** `kumo.configure_log_disposition_hook` */
  configureLogDispositionHook(params: unknown): DispositionHook {
    const hook = DispositionHook.parse(params);
    this.claimName(hook.name);
    this.dispositionHooks.push(hook);
    return hook;
  }

  private claimName(name: string): void {
    if (this.hookNames.has(name)) throw new LoggingConfigError(`A logging hook with name \`${name}\` has already been registered`);
    this.hookNames.add(name);
  }

  async log(event: RecordEvent): Promise<void> {
    this.counts[event.type] = (this.counts[event.type] ?? 0) + 1;
    if (this.localLogs.length === 0 && this.hooks.length === 0 && this.dispositionHooks.length === 0) return;
    // A record about a log-hook message goes to local logs only (the loop guard
    // below): with no local log taking it, nothing would use the built record.
    if (event.type !== 'Rejection' && event.message && !this.localLogs.some((l) => l.wants(event.type)) && event.message.getMeta('reception_protocol') === 'LogRecord') return;
    const prepared = this.builder.prepare(event);
    const msg = prepared.message;

    for (const local of this.localLogs) {
      if (!local.wants(event.type)) continue;
      const filter = local.config.filterEvent;
      if (filter !== null && msg) {
        let keep = false;
        try {
          keep = (await this.callbacks.filterEvent(filter, msg)) === true;
        } catch (err) {
          this.onError(err, `filter_event ${filter}`);
        }
        if (!keep) continue;
      }
      const waited = local.submit(prepared.build(local.capture));
      if (waited !== false) await waited;
    }

    // Records about log-hook messages never reach a hook: the loop guard.
    if (prepared.receptionProtocol === 'LogRecord') return;
    for (const hook of this.hooks) {
      if (!hook.wants(event.type)) continue;
      const waited = hook.submit(prepared.build(hook.capture));
      if (waited !== false) await waited;
    }
    if (!msg || event.type === 'OOB') return;
    for (const d of this.dispositionHooks) {
      if (!d.wants(event.type)) continue;
      try {
        await this.callbacks.disposition(d.name, msg, prepared.build(NO_CAPTURE).record);
      } catch (err) {
        this.onError(err, `log_disposition_${d.name}`);
      }
    }
  }

  /** Waits until everything logged so far is written / handed to the queues. */
  async flush(): Promise<void> {
    await Promise.all([...this.localLogs.map((l) => l.flush()), ...this.hooks.map((h) => h.flush())]);
  }

  /** Shutdown: drains hooks, then closes every local log segment. */
  async close(): Promise<void> {
    await Promise.all(this.hooks.map((h) => h.close()));
    await Promise.all(this.localLogs.map((l) => l.close()));
  }

  stats(): LoggingStats {
    return {
      recordsLogged: { ...this.counts },
      localLogs: this.localLogs.map((l) => l.stats()),
      hooks: this.hooks.map((h) => h.stats()),
    };
  }
}

/** Where the composition root provides the process's Logging to the kumo bindings. */
export const LOGGING_SLOT = new ServiceSlot<Logging>('logging');
