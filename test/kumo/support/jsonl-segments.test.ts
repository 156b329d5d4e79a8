import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/segments.ts';
import { VirtualClock } from '../../../src/util/clock.ts';
import { JsonlWriter, MultiTailer, type LogBatch } from '../../../src/kumo/support/jsonl-segments.ts';

function writer(dir: string, clock: VirtualClock): JsonlWriter {
  return new JsonlWriter({ logDir: dir, maxFileSize: 1 << 20, compressionLevel: 3, suffix: '' }, clock);
}

function tailer(dir: string, clock: VirtualClock, latencyMs: number, maxBatchSize = 10): MultiTailer {
  return new MultiTailer({ directory: dir, pattern: '*', pollMs: 100, tail: false, consumers: [{ name: 'c', maxBatchSize, maxBatchLatencyMs: latencyMs }] }, clock);
}

/** Lets file I/O finish between clock steps (real I/O, virtual time). */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
}

describe('jsonl segments engine', () => {
  it('a segment still being written is not read until its writer closes it', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock();
    const w = writer(dir, clock);
    await w.writeLine('{"n":1}');
    const tl = tailer(dir, clock, 0);
    let got: LogBatch | null | undefined;
    void tl.nextBatch().then((b) => (got = b));
    await settleIo();
    await clock.advance(500);
    await settleIo();
    expect(got).toBeUndefined();
    await w.close();
    for (let i = 0; i < 10 && got === undefined; i++) {
      await clock.advance(100);
      await settleIo();
    }
    expect(got?.records).toEqual([{ n: 1 }]);
    tl.close();
  });

  it('a partial batch waits max_batch_latency before it is handed out', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock();
    const w = writer(dir, clock);
    await w.writeLine('{"n":1}');
    await w.close();
    const tl = tailer(dir, clock, 1000);
    let got: LogBatch | null | undefined;
    void tl.nextBatch().then((b) => (got = b));
    await settleIo();
    await clock.advance(900);
    await settleIo();
    expect(got).toBeUndefined();
    for (let i = 0; i < 5 && got === undefined; i++) {
      await clock.advance(100);
      await settleIo();
    }
    expect(got?.records).toEqual([{ n: 1 }]);
    expect(clock.now() - Date.UTC(2026, 0, 1)).toBeGreaterThanOrEqual(1000);
    tl.close();
  });
});
