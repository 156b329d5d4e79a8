import type { Message } from '../message/message.ts';
import { CompiledCapture } from '../records/capture.ts';
import type { BuiltRecord } from '../records/log-record.ts';
import type { Clock } from '../util/clock.ts';
import { BoundedQueue, Permits } from './bounded-queue.ts';
import { makeLogMessage, withNewline } from './log-message.ts';
import { checkTable, optBoolean, optInteger, optStringList, reqString } from './options.ts';
import { PerRecord } from './per-record.ts';
import { RecordTemplates } from './templates.ts';

const WHERE = 'kumo.configure_log_hook';
const KEYS = ['name', 'back_pressure', 'meta', 'headers', 'per_record', 'deferred_spool'] as const;

export interface LogHookConfig {
  name: string;
  backPressure: number;
  capture: CompiledCapture;
  perRecord: PerRecord;
  templates: RecordTemplates;
  deferredSpool: boolean;
}

/** Validates a `configure_log_hook` table (lua-api.md §5.1). */
export function parseLogHookOptions(raw: unknown): LogHookConfig {
  const t = checkTable(WHERE, raw, KEYS);
  const perRecord = PerRecord.parse(WHERE, t.per_record);
  return {
    name: reqString(WHERE, t, 'name'),
    backPressure: optInteger(WHERE, t, 'back_pressure', 1) ?? 128_000,
    capture: new CompiledCapture({ meta: optStringList(WHERE, t, 'meta'), headers: optStringList(WHERE, t, 'headers') }),
    perRecord,
    templates: new RecordTemplates(WHERE, perRecord),
    deferredSpool: optBoolean(WHERE, t, 'deferred_spool') ?? false,
  };
}

export interface EnqueueOptions {
  hookName: string;
  /** Queue without saving to spool first. */
  deferredSpool: boolean;
}

/** What the hook pipeline calls into (the Lua event and the queue manager). */
export interface HookCallbacks {
  /** `should_enqueue_log_record(msg, hook_name)`; no handler means false. */
  shouldEnqueue(msg: Message, hookName: string): Promise<boolean>;
  /** Inserts the message into the queue named by `msg.queueName()`. */
  enqueue(msg: Message, options: EnqueueOptions): Promise<void>;
}

export interface LogHookDeps {
  clock: Clock;
  callbacks: () => HookCallbacks;
  onError: (err: unknown, where: string) => void;
}

export interface LogHookStats {
  name: string;
  /** Records waiting in the hook's queue. */
  queued: number;
  /** Records between message construction and the end of enqueueing. */
  inFlight: number;
  /** Times a record waited because back_pressure records were in flight (log_hook_backlog_count). */
  backlogCount: number;
  /** Times a producer found the queue full (log_submit_full, logger `hook-<name>`). */
  submitFull: number;
  enqueued: number;
  discarded: number;
  errors: number;
}

type Item = { built: BuiltRecord } | { barrier: () => void };

/**
 * One `configure_log_hook` instance (lua-api.md §5.2): records wait in a
 * bounded queue; a worker turns each into a Message, asks the policy whether
 * to keep it, and enqueues it. At most back_pressure records are in flight,
 * and the permit is held until enqueueing ends so memory stays bounded.
 */
export class LogHook {
  private readonly queue: BoundedQueue<Item>;
  private readonly permits: Permits;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly worker: Promise<void>;
  private backlogCount = 0;
  private enqueued = 0;
  private discarded = 0;
  private errors = 0;

  constructor(readonly config: LogHookConfig, private readonly deps: LogHookDeps) {
    this.queue = new BoundedQueue(config.backPressure);
    this.permits = new Permits(config.backPressure);
    this.worker = this.run();
  }

  get name(): string {
    return this.config.name;
  }

  get capture(): CompiledCapture {
    return this.config.capture;
  }

  wants(type: string): boolean {
    return this.config.perRecord.isEnabled(type);
  }

  /** Queues a record; waits while the queue is full. */
  submit(built: BuiltRecord): Promise<boolean> | boolean {
    return this.queue.push({ built });
  }

  /** Resolves once every record submitted before the call has been fully handled. */
  async flush(): Promise<void> {
    if (this.queue.isClosed) {
      await this.worker;
      return;
    }
    await new Promise<void>((resolve) => void this.queue.push({ barrier: resolve }));
  }

  /** Handles everything queued, then stops. */
  async close(): Promise<void> {
    this.queue.close();
    await this.worker;
  }

  stats(): LogHookStats {
    return {
      name: this.name, queued: this.queue.size, inFlight: this.permits.held, backlogCount: this.backlogCount,
      submitFull: this.queue.fullCount, enqueued: this.enqueued, discarded: this.discarded, errors: this.errors,
    };
  }

  private async run(): Promise<void> {
    for (;;) {
      // One record at a time leaves the queue, so at most capacity + 1 + in-flight records exist.
      const [item] = await this.queue.take(1);
      if (!item) break;
      if ('barrier' in item) {
        await Promise.all([...this.inFlight]);
        item.barrier();
        continue;
      }
      const waited = this.permits.acquire();
      if (waited !== false) {
        this.backlogCount++;
        await waited;
      }
      const task: Promise<void> = this.handle(item.built).finally(() => {
        this.permits.release();
        this.inFlight.delete(task);
      });
      this.inFlight.add(task);
    }
    await Promise.all([...this.inFlight]);
  }

  private async handle(built: BuiltRecord): Promise<void> {
    const where = `log hook ${this.name}`;
    let msg: Message;
    try {
      const body = withNewline(this.config.templates.render(built.record) ?? built.text);
      msg = makeLogMessage(built.record, body, this.deps.clock.now());
    } catch (err) {
      this.errors++;
      this.deps.onError(err, where);
      return;
    }
    const cb = this.deps.callbacks();
    try {
      if (!(await cb.shouldEnqueue(msg, this.name))) {
        this.discarded++;
        return;
      }
      await cb.enqueue(msg, { hookName: this.name, deferredSpool: this.config.deferredSpool });
      this.enqueued++;
    } catch (err) {
      this.errors++;
      this.deps.onError(err, where);
    }
  }
}

const DISPOSITION_WHERE = 'kumo.configure_log_disposition_hook';

/** A `configure_log_disposition_hook` instance (lua-api.md §6): only a name and per_record enable flags. */
export class DispositionHook {
  private constructor(readonly name: string, private readonly perRecord: PerRecord) {}

  static parse(raw: unknown): DispositionHook {
    const t = checkTable(DISPOSITION_WHERE, raw, ['name', 'per_record']);
    return new DispositionHook(reqString(DISPOSITION_WHERE, t, 'name'), PerRecord.parse(DISPOSITION_WHERE, t.per_record));
  }

  wants(type: string): boolean {
    return this.perRecord.isEnabled(type);
  }
}
