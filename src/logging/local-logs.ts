import { promises as fsp } from 'node:fs';
import { CompiledCapture } from '../records/capture.ts';
import type { BuiltRecord } from '../records/log-record.ts';
import { type Instant, instantFromMs } from '../records/time-format.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { parseDurationMs } from './humantime.ts';
import { LoggingConfigError, checkTable, optInteger, optString, optStringList, reqString } from './options.ts';
import { type FileSettings, PerRecord } from './per-record.ts';
import { SegmentFile, markExistingSegmentsReadOnly, nextNanosecond } from './segment-file.ts';
import { RecordTemplates } from './templates.ts';

const WHERE = 'kumo.configure_local_logs';
const KEYS = [
  'log_dir', 'max_file_size', 'max_segment_duration', 'compression_level', 'back_pressure',
  'meta', 'headers', 'per_record', 'filter_event', 'min_free_space', 'min_free_inodes',
] as const;

/** A free-space threshold: a percentage or an absolute count. */
export type FreeSpaceLimit = { percent: number } | { count: number };

export interface LocalLogConfig {
  logDir: string;
  maxFileSize: number;
  maxSegmentDurationMs: number | null;
  compressionLevel: number;
  backPressure: number;
  capture: CompiledCapture;
  perRecord: PerRecord;
  templates: RecordTemplates;
  filterEvent: string | null;
  minFreeSpace: FreeSpaceLimit;
  minFreeInodes: FreeSpaceLimit;
}

function parseFreeSpace(key: string, v: unknown): FreeSpaceLimit {
  if (v === undefined || v === null) return { percent: 10 };
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { count: v };
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
    if (m && Number(m[1]) <= 100) return { percent: Number(m[1]) };
  }
  throw new LoggingConfigError(`${WHERE}: option '${key}' must be "N%" or a non-negative integer, got ${JSON.stringify(v)}`);
}

/** Validates a `configure_local_logs` table (lua-api.md §7.1); templates are compiled here. */
export function parseLocalLogOptions(raw: unknown): LocalLogConfig {
  const t = checkTable(WHERE, raw, KEYS);
  const perRecord = PerRecord.parse(WHERE, t.per_record);
  const durationRaw = t.max_segment_duration;
  return {
    logDir: reqString(WHERE, t, 'log_dir'),
    maxFileSize: optInteger(WHERE, t, 'max_file_size', 1) ?? 1_000_000_000,
    maxSegmentDurationMs: durationRaw === undefined || durationRaw === null ? null : parseDurationMs(`${WHERE}: option 'max_segment_duration'`, durationRaw),
    compressionLevel: optInteger(WHERE, t, 'compression_level', 0, 22) ?? 0,
    backPressure: optInteger(WHERE, t, 'back_pressure', 1) ?? 128_000,
    capture: new CompiledCapture({ meta: optStringList(WHERE, t, 'meta'), headers: optStringList(WHERE, t, 'headers') }),
    perRecord,
    templates: new RecordTemplates(WHERE, perRecord),
    filterEvent: optString(WHERE, t, 'filter_event') ?? null,
    minFreeSpace: parseFreeSpace('min_free_space', t.min_free_space),
    minFreeInodes: parseFreeSpace('min_free_inodes', t.min_free_inodes),
  };
}

export interface LocalLoggerDeps {
  clock: Clock;
  onError: (err: unknown, where: string) => void;
}

type Item = { built: BuiltRecord } | { barrier: () => void };

interface OpenSegment {
  file: SegmentFile;
  timer: TimerHandle | null;
}

export interface LocalLoggerStats {
  name: string;
  queued: number;
  submitFull: number;
  recordsWritten: number;
  segmentsClosed: number;
  renderErrors: number;
}

/**
 * One `configure_local_logs` instance: a bounded queue of built records and a
 * worker that renders them and appends them to zstd segments, one open
 * segment per (log_dir, suffix).
 */
export class LocalLogger {
  /** Metrics label, as KumoMTA names it. */
  readonly name: string;
  private readonly queue: BoundedQueue<Item>;
  private readonly segments = new Map<string, OpenSegment>();
  private chain: Promise<void> = Promise.resolve();
  private lastOpened: Instant = { secs: 0, nanos: 0 };
  private readonly worker: Promise<void>;
  private recordsWritten = 0;
  private segmentsClosed = 0;
  private renderErrors = 0;

  private constructor(readonly config: LocalLogConfig, private readonly deps: LocalLoggerDeps) {
    this.name = `dir-${config.logDir}`;
    this.queue = new BoundedQueue(config.backPressure);
    this.worker = this.run();
  }

  /** Creates log_dir (and per-record dirs) and marks leftovers from earlier runs read-only. */
  static async create(config: LocalLogConfig, deps: LocalLoggerDeps): Promise<LocalLogger> {
    for (const dir of [config.logDir, ...config.perRecord.logDirs()]) {
      try {
        await fsp.mkdir(dir, { recursive: true });
        await markExistingSegmentsReadOnly(dir);
      } catch (err) {
        throw new LoggingConfigError(`${WHERE}: cannot prepare log directory ${dir}: ${(err as Error).message}`);
      }
    }
    return new LocalLogger(config, deps);
  }

  get capture(): CompiledCapture {
    return this.config.capture;
  }

  wants(type: string): boolean {
    return this.config.perRecord.isEnabled(type);
  }

  /** Queues a record; waits while back_pressure records are already queued. */
  submit(built: BuiltRecord): Promise<boolean> | boolean {
    return this.queue.push({ built });
  }

  /** Resolves once every record submitted before the call is written out (segments stay open). */
  async flush(): Promise<void> {
    if (this.queue.isClosed) return this.chain;
    await new Promise<void>((resolve) => void this.queue.push({ barrier: resolve }));
    await this.chain;
  }

  /** Writes everything queued, closes every segment and stops the worker. */
  async close(): Promise<void> {
    if (!this.queue.isClosed) {
      this.queue.close();
      await this.worker;
    }
    await this.serial(async () => {
      for (const key of [...this.segments.keys()]) await this.closeSegment(key);
    });
  }

  stats(): LocalLoggerStats {
    return {
      name: this.name, queued: this.queue.size, submitFull: this.queue.fullCount,
      recordsWritten: this.recordsWritten, segmentsClosed: this.segmentsClosed, renderErrors: this.renderErrors,
    };
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn).catch((err) => this.deps.onError(err, this.name));
    this.chain = next;
    return next;
  }

  private async run(): Promise<void> {
    for (;;) {
      const batch = await this.queue.take(1024);
      if (batch.length === 0) return;
      await this.serial(() => this.writeBatch(batch));
    }
  }

  private async writeBatch(batch: Item[]): Promise<void> {
    const touched = new Set<OpenSegment>();
    for (const item of batch) {
      if ('barrier' in item) {
        await this.flushSegments(touched);
        touched.clear();
        item.barrier();
        continue;
      }
      const { record, text } = item.built;
      let line: string;
      try {
        line = this.config.templates.render(record) ?? text;
      } catch (err) {
        this.renderErrors++;
        this.deps.onError(err, `${this.name}: template for ${record.type}`);
        continue;
      }
      if (!line.endsWith('\n')) line += '\n';
      const settings = this.config.perRecord.fileSettings(record.type);
      const key = segmentKey(this.config.logDir, settings);
      const seg = this.segments.get(key) ?? (await this.openSegment(key, settings));
      seg.file.write(line);
      this.recordsWritten++;
      touched.add(seg);
      if (seg.file.bytes >= this.config.maxFileSize || this.expired(seg)) {
        touched.delete(seg);
        await this.closeSegment(key);
      }
    }
    await this.flushSegments(touched);
  }

  private async flushSegments(segs: Iterable<OpenSegment>): Promise<void> {
    for (const seg of segs) await seg.file.flush();
  }

  private expired(seg: OpenSegment): boolean {
    const max = this.config.maxSegmentDurationMs;
    return max !== null && this.deps.clock.now() - seg.file.openedAtMs >= max;
  }

  private async openSegment(key: string, settings: FileSettings): Promise<OpenSegment> {
    const nowMs = this.deps.clock.now();
    let at = instantFromMs(nowMs);
    if (at.secs < this.lastOpened.secs || (at.secs === this.lastOpened.secs && at.nanos <= this.lastOpened.nanos)) {
      at = nextNanosecond(this.lastOpened);
    }
    this.lastOpened = at;
    const dir = settings.logDir ?? this.config.logDir;
    const file = await SegmentFile.create(dir, at, settings.suffix ?? '', this.config.compressionLevel, nowMs);
    const seg: OpenSegment = { file, timer: null };
    if (settings.segmentHeader !== '') file.write(settings.segmentHeader, false);
    const max = this.config.maxSegmentDurationMs;
    if (max !== null) {
      seg.timer = this.deps.clock.setTimer(max, () => {
        void this.serial(async () => {
          if (this.segments.get(key) === seg) await this.closeSegment(key);
        });
      });
    }
    this.segments.set(key, seg);
    return seg;
  }

  private async closeSegment(key: string): Promise<void> {
    const seg = this.segments.get(key);
    if (!seg) return;
    this.segments.delete(key);
    seg.timer?.cancel();
    await seg.file.close();
    this.segmentsClosed++;
  }
}

function segmentKey(defaultDir: string, s: FileSettings): string {
  return (s.logDir ?? defaultDir) + '\0' + (s.suffix ?? '');
}
