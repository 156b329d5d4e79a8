import { constants as fsConstants, fchmodSync, fstatSync, promises as fsp, writeSync } from 'node:fs';
import path from 'node:path';
import zstd from 'zstd-napi/binding.js';
import { type Instant, formatSegmentStamp } from '../records/time-format.ts';

const OUT_CHUNK = zstd.cStreamOutSize();

/**
 * One local-log segment: a file holding a single zstd stream of
 * newline-terminated records (lua-api.md §7.2). Text is buffered and
 * compressed in batches; the file is complete (and made read-only) on close.
 * Callers serialise all operations on one segment.
 */
export class SegmentFile {
  /** Uncompressed bytes accepted so far (what max_file_size limits). */
  bytes = 0;
  records = 0;
  private pendingText: string[] = [];
  private readonly cctx: InstanceType<typeof zstd.CCtx>;
  private out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  private outLen = 0;
  private pendingOut: Buffer[] = [];
  private closed = false;

  private constructor(
    readonly path: string,
    readonly openedAtMs: number,
    private readonly fh: fsp.FileHandle,
    compressionLevel: number,
  ) {
    this.cctx = new zstd.CCtx();
    if (compressionLevel !== 0) this.cctx.setParameter(zstd.CParameter.compressionLevel, compressionLevel);
  }

  /**
   * Creates a new segment file named after `instant` (plus `suffix`) in `dir`.
   * Names never collide: an existing name moves the instant on by 1 ns.
   */
  static async create(dir: string, instant: Instant, suffix: string, compressionLevel: number, openedAtMs: number): Promise<SegmentFile> {
    let at = instant;
    for (let attempt = 0; ; attempt++) {
      const file = path.join(dir, formatSegmentStamp(at) + suffix);
      try {
        // O_APPEND|O_CREAT with O_EXCL so a name already used is never reopened.
        const fh = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o666);
        return new SegmentFile(file, openedAtMs, fh, compressionLevel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 10_000) throw err;
        at = nextNanosecond(at);
      }
    }
  }

  /** Buffers text; `isRecord` false for a segment_header. */
  write(text: string, isRecord = true): void {
    if (this.closed) throw new Error(`segment ${this.path} is closed`);
    this.pendingText.push(text);
    this.bytes += Buffer.byteLength(text);
    if (isRecord) this.records++;
  }

  /** Compresses buffered text and writes whatever compressed output is ready. */
  async flush(): Promise<void> {
    this.compressPending(zstd.EndDirective.continue);
    await this.writeOut();
  }

  /** Ends the zstd frame, closes the file and removes its write permission bits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.compressPending(zstd.EndDirective.end);
      await this.writeOut();
      const st = await this.fh.stat();
      await this.fh.chmod(st.mode & 0o7777 & ~0o222);
    } finally {
      await this.fh.close();
    }
  }

  /**
   * close() for callers that cannot wait (Lua's __close cannot yield): the
   * frame is finished, written and the file made read-only before returning;
   * only releasing the descriptor happens in the background. The caller must
   * know no flush() is in flight.
   */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fh.fd;
    try {
      this.compressPending(zstd.EndDirective.end);
      this.spill();
      for (const b of this.pendingOut.splice(0)) {
        for (let off = 0, guard = 0; off < b.length && guard < 1_000_000; guard++) off += writeSync(fd, b, off, b.length - off);
      }
      fchmodSync(fd, fstatSync(fd).mode & 0o7777 & ~0o222);
    } finally {
      this.fh.close().catch(() => undefined);
    }
  }

  private compressPending(op: zstd.EndDirective): void {
    const text = this.pendingText.length === 1 ? this.pendingText[0]! : this.pendingText.join('');
    this.pendingText = [];
    if (text.length === 0 && op === zstd.EndDirective.continue) return;
    let input: Uint8Array = Buffer.from(text, 'utf8');
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (this.outLen === this.out.length) this.spill();
      const [remaining, produced, consumed] = this.cctx.compressStream2(this.out.subarray(this.outLen), input, op);
      this.outLen += produced;
      input = input.subarray(consumed);
      if (input.length === 0 && (op === zstd.EndDirective.continue || remaining === 0)) return;
    }
    throw new Error(`zstd made no progress compressing ${this.path}`);
  }

  private spill(): void {
    if (this.outLen === 0) return;
    this.pendingOut.push(this.out.subarray(0, this.outLen));
    this.out = Buffer.allocUnsafe(OUT_CHUNK);
    this.outLen = 0;
  }

  private async writeOut(): Promise<void> {
    this.spill();
    if (this.pendingOut.length === 0) return;
    const chunks = this.pendingOut;
    this.pendingOut = [];
    let buffers = chunks;
    while (buffers.length > 0) {
      const { bytesWritten } = await this.fh.writev(buffers);
      buffers = dropWritten(buffers, bytesWritten);
    }
  }
}

function dropWritten(buffers: Buffer[], written: number): Buffer[] {
  let n = written;
  const rest: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    rest.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return rest;
}

export function nextNanosecond(at: Instant): Instant {
  return at.nanos >= 999_999_999 ? { secs: at.secs + 1, nanos: 0 } : { secs: at.secs, nanos: at.nanos + 1 };
}

/** Removes the write bits from every non-dot regular file in `dir` (closed segments from an earlier run). */
export async function markExistingSegmentsReadOnly(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const file = path.join(dir, entry.name);
    const st = await fsp.stat(file);
    if (st.mode & 0o222) await fsp.chmod(file, st.mode & 0o7777 & ~0o222);
  }
}
