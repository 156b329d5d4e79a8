/**
 * The engine of kumo.jsonl (lua-api-more.md §3.12): a writer of zstd
 * JSON-lines segments (the local-log format of lua-api.md §7.2, through the
 * same SegmentFile), and a tailer that reads completed segments in name order
 * and hands their records out in batches to one or more consumers, each with
 * its own filter, batch limits and checkpoint.
 *
 * A segment is read once it is complete, i.e. once its writer removed the
 * write permission bits; a segment still being written is waited for.
 * Checkpoints are kumo-lua's own: a dot file `.<checkpoint_name>.checkpoint`
 * in the directory holding `{"file": <segment name>, "line": <lines consumed>}`.
 */
import { mkdirSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import { decompress as zstdDecompress } from 'zstd-napi';
import { SegmentFile } from '../../logging/segment-file.ts';
import { instantFromMs } from '../../records/time-format.ts';
import type { Clock } from '../../util/clock.ts';
import type { JsonValue } from '../../util/json.ts';

export interface WriterOptions {
  logDir: string;
  maxFileSize: number;
  compressionLevel: number;
  maxSegmentMs?: number;
  suffix: string;
  /** IANA zone the segment names are written in (default UTC). */
  tz?: string;
}

/** Offset of `tz` from UTC at `ms`, in milliseconds (wall time minus UTC). */
export function zoneOffsetMs(tz: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - (ms - (ms % 1000));
}

export class JsonlWriter {
  private seg: SegmentFile | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private inFlight = 0;

  constructor(readonly opts: WriterOptions, private readonly clock: Clock) {
    mkdirSync(opts.logDir, { recursive: true });
    if (opts.tz !== undefined) zoneOffsetMs(opts.tz, 0); // a bad zone fails here (RangeError)
  }

  /** Operations on one writer run one after another. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const run = () => op().finally(() => this.inFlight--);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * close() for Lua's __close, which cannot wait: synchronous when nothing
   * else is in flight (the usual case: the scope's own writes were awaited),
   * else queued behind the pending operations.
   */
  closeNow(): void {
    if (this.inFlight > 0) {
      this.close().catch(() => undefined);
      return;
    }
    const seg = this.seg;
    this.seg = null;
    seg?.closeSync();
  }

  writeLine(line: string): Promise<void> {
    return this.serial(async () => {
      const now = this.clock.now();
      if (!this.seg) {
        const wall = this.opts.tz === undefined ? now : now + zoneOffsetMs(this.opts.tz, now);
        this.seg = await SegmentFile.create(this.opts.logDir, instantFromMs(wall), this.opts.suffix, this.opts.compressionLevel, now);
      }
      this.seg.write(line.endsWith('\n') ? line : `${line}\n`);
      await this.seg.flush();
      if (this.seg.bytes >= this.opts.maxFileSize || this.expired(now)) await this.closeSegment();
    });
  }

  private expired(now: number): boolean {
    return this.seg !== null && this.opts.maxSegmentMs !== undefined && now - this.seg.openedAtMs >= this.opts.maxSegmentMs;
  }

  /** Closes the open segment when max_segment_duration has passed. */
  maintain(): Promise<void> {
    return this.serial(async () => {
      if (this.expired(this.clock.now())) await this.closeSegment();
    });
  }

  /** Finishes and marks read-only the open segment; a later write starts a new one. */
  close(): Promise<void> {
    return this.serial(() => this.closeSegment());
  }

  /** The segment being written, if any. */
  get currentPath(): string | undefined {
    return this.seg?.path;
  }

  private async closeSegment(): Promise<void> {
    const seg = this.seg;
    this.seg = null;
    await seg?.close();
  }
}

// ---------------------------------------------------------------- reading

export interface Position {
  file: string;
  /** Lines of `file` consumed. */
  line: number;
}

export interface TailRecord extends Position {
  value: JsonValue;
}

/** `*` and `?` globs over a file name (no directory parts). */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function isComplete(mode: number): boolean {
  return (mode & 0o222) === 0;
}

/** Segment names in a directory, oldest first (names start with their UTC time). */
async function segmentNames(dir: string, pattern: RegExp): Promise<string[]> {
  const names = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.') && pattern.test(e.name)).map((e) => e.name);
  return names.sort();
}

function segmentNamesSync(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.') && pattern.test(e.name)).map((e) => e.name).sort();
}

export async function readSegment(file: string): Promise<string[]> {
  const data = await fsp.readFile(file);
  const text = data.length === 0 ? '' : Buffer.from(zstdDecompress(data)).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Reads completed segments once each, in name order, from a starting position. */
export class SegmentSource {
  private readonly pattern: RegExp;
  /** Last segment read to its end. */
  private lastFile: string | null = null;

  /** `tail`: start after the segments present now. */
  constructor(readonly dir: string, pattern: string, private start: Position | null, tail: boolean) {
    this.pattern = globToRegExp(pattern);
    if (tail) this.lastFile = segmentNamesSync(dir, this.pattern).pop() ?? null;
  }

  /** The records of the next completed segment, or null when none is ready. */
  async readNext(): Promise<TailRecord[] | null> {
    const names = await segmentNames(this.dir, this.pattern);
    for (const name of names) {
      if (this.lastFile !== null && name <= this.lastFile) continue;
      if (this.start && name < this.start.file) continue;
      const full = path.join(this.dir, name);
      if (!isComplete((await fsp.stat(full)).mode)) return null; // wait for it: order matters
      const lines = await readSegment(full);
      this.lastFile = name;
      const skip = this.start && this.start.file === name ? this.start.line : 0;
      this.start = null;
      const out: TailRecord[] = [];
      for (let i = skip; i < lines.length; i++) out.push({ file: name, line: i + 1, value: parseLine(lines[i]!, name, i + 1) });
      return out;
    }
    return null;
  }
}

function parseLine(text: string, file: string, line: number): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new Error(`jsonl: ${file} line ${line} is not JSON: ${(e as Error).message}`);
  }
}

export function checkpointPath(dir: string, name: string): string {
  return path.join(dir, `.${name}.checkpoint`);
}

export async function loadCheckpoint(dir: string, name: string): Promise<Position | null> {
  try {
    const v = JSON.parse(await fsp.readFile(checkpointPath(dir, name), 'utf8')) as Position;
    return typeof v.file === 'string' && Number.isInteger(v.line) ? v : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function saveCheckpoint(dir: string, name: string, at: Position): Promise<void> {
  const file = checkpointPath(dir, name);
  await fsp.writeFile(`${file}.tmp`, JSON.stringify({ file: at.file, line: at.line }));
  await fsp.rename(`${file}.tmp`, file);
}

export interface ConsumerOptions {
  name: string;
  maxBatchSize: number;
  maxBatchLatencyMs: number;
  checkpointName?: string;
  filter?: (value: JsonValue) => Promise<boolean>;
  /** Called once when the tailer closes (releases the filter). */
  release?: () => void;
}

export class LogBatch {
  committed = false;
  constructor(
    readonly consumer: string,
    private readonly dir: string,
    private readonly checkpointName: string | undefined,
    readonly records: JsonValue[],
    readonly files: string[],
    readonly end: Position | null,
  ) {}

  /** Saves the position after this batch (no-op without a checkpoint_name); records are gone after. */
  async commit(): Promise<void> {
    if (this.committed) return;
    this.committed = true;
    if (this.checkpointName !== undefined && this.end) await saveCheckpoint(this.dir, this.checkpointName, this.end);
  }
}

class Consumer {
  pending: TailRecord[] = [];
  firstAt = 0;
  /** Position after the last record seen (kept or filtered out). */
  seen: Position | null = null;
  constructor(readonly opts: ConsumerOptions, readonly from: Position | null) {}

  skips(r: TailRecord): boolean {
    return this.from !== null && (r.file < this.from.file || (r.file === this.from.file && r.line <= this.from.line));
  }

  take(dir: string, n: number): LogBatch {
    const taken = this.pending.splice(0, n);
    const end = this.pending.length > 0 ? { file: taken[taken.length - 1]!.file, line: taken[taken.length - 1]!.line } : this.seen;
    const files = [...new Set(taken.map((r) => r.file))];
    return new LogBatch(this.opts.name, dir, this.opts.checkpointName, taken.map((r) => r.value), files, end);
  }
}

export interface TailerOptions {
  directory: string;
  pattern: string;
  pollMs: number;
  tail: boolean;
  consumers: ConsumerOptions[];
}

/** Fans one pass over the segments out to its consumers; `nextBatch` yields whichever batch is ready first. */
export class MultiTailer {
  private source: SegmentSource | null = null;
  private consumers: Consumer[] = [];
  private readonly stop = new AbortController();
  closed = false;

  /** Segments present now, skipped when `tail` is set and no consumer has a checkpoint. */
  private readonly tailFrom: SegmentSource | null;

  constructor(readonly opts: TailerOptions, private readonly clock: Clock) {
    this.tailFrom = opts.tail ? new SegmentSource(opts.directory, opts.pattern, null, true) : null;
  }

  private async init(): Promise<void> {
    if (this.source) return;
    const starts = await Promise.all(this.opts.consumers.map((c) => (c.checkpointName ? loadCheckpoint(this.opts.directory, c.checkpointName) : null)));
    this.consumers = this.opts.consumers.map((c, i) => new Consumer(c, starts[i]!));
    // Read from the earliest position any consumer needs; the others skip what they already had.
    const earliest = starts.some((s) => s === null) ? null : starts.reduce((a, b) => (a!.file < b!.file || (a!.file === b!.file && a!.line < b!.line) ? a : b));
    this.source = this.tailFrom && starts.every((s) => s === null) ? this.tailFrom : new SegmentSource(this.opts.directory, this.opts.pattern, earliest ?? null, false);
  }

  private ready(now: number): LogBatch | null {
    for (const c of this.consumers) if (c.pending.length >= c.opts.maxBatchSize) return c.take(this.opts.directory, c.opts.maxBatchSize);
    for (const c of this.consumers) {
      if (c.pending.length > 0 && (this.closed || now - c.firstAt >= c.opts.maxBatchLatencyMs)) return c.take(this.opts.directory, c.opts.maxBatchSize);
    }
    return null;
  }

  /** The next batch, waiting for records as needed; null once closed and drained. */
  async nextBatch(): Promise<LogBatch | null> {
    await this.init();
    for (let guard = 0; guard < 100_000_000; guard++) {
      const now = this.clock.now();
      const batch = this.ready(now);
      if (batch) return batch;
      if (this.closed) return null;
      const records = await this.source!.readNext();
      if (records) {
        await this.distribute(records);
        continue;
      }
      let wait = this.opts.pollMs;
      for (const c of this.consumers) if (c.pending.length > 0) wait = Math.min(wait, c.firstAt + c.opts.maxBatchLatencyMs - now);
      await this.clock.sleep(Math.max(1, wait), this.stop.signal).catch(() => undefined);
    }
    throw new Error('jsonl tailer: too many polls');
  }

  private async distribute(records: TailRecord[]): Promise<void> {
    const now = this.clock.now();
    for (const r of records) {
      // Closed meanwhile: the filters are released; the rest stays unread (and uncommitted).
      if (this.closed) return;
      for (const c of this.consumers) {
        if (c.skips(r)) continue;
        c.seen = { file: r.file, line: r.line };
        if (c.opts.filter && !(await c.opts.filter(r.value))) continue;
        if (c.pending.length === 0) c.firstAt = now;
        c.pending.push(r);
      }
    }
  }

  close(): void {
    if (!this.closed) for (const c of this.opts.consumers) c.release?.();
    this.closed = true;
    this.stop.abort();
  }
}
