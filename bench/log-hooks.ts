/**
 * Throughput and latency of the logging path: record builder + one local log
 * (zstd segments) + one log hook (message construction, should_enqueue,
 * enqueue). Run: node --import tsx bench/log-hooks.ts [records] [concurrency] [back_pressure]
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logging } from '../src/logging/index.ts';
import { Message } from '../src/message/message.ts';
import type { RecordEvent } from '../src/records/types.ts';
import { SystemClock } from '../src/util/clock.ts';
import { reportFigure } from './report.ts';

const TOTAL = Number(process.argv[2] ?? 200_000);
const CONCURRENCY = Number(process.argv[3] ?? 1);
const BACK_PRESSURE = Number(process.argv[4] ?? 128_000);

function makeMessages(n: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    const head = `From: news@sender.example\r\nTo: user${i}@example.net\r\nSubject: =?UTF-8?Q?June_newsletter_caf=C3=A9?=\r\nX-Campaign-Id: summer24\r\nX-Mailer: bench\r\nMessage-ID: <${i}@sender.example>\r\n\r\n`;
    out.push(new Message({
      sender: 'news@sender.example',
      recipients: [`user${i}@example.net`],
      meta: { tenant: 'acme', campaign: 'june', reception_protocol: 'ESMTP' },
      data: Buffer.from(head + 'Hello there, this is the body.\r\n'.repeat(60)),
    }));
  }
  return out;
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kumo-bench-'));
  let enqueued = 0;
  const logging = new Logging({
    clock: new SystemClock(),
    nodeId: '6f1d2c9e-28b9-11ef-8f3a-525400c0ffee',
    callbacks: {
      shouldEnqueue: async (msg) => {
        msg.setMeta('queue', 'bench.log_hook');
        return true;
      },
      enqueue: async () => {
        enqueued++;
      },
    },
  });
  logging.configureLogHook({ name: 'bench', meta: ['tenant'], headers: ['Subject', 'X-*'], back_pressure: BACK_PRESSURE });
  await logging.configureLocalLogs({ log_dir: dir, meta: ['tenant'], headers: ['Subject', 'X-*'], max_file_size: 50_000_000, back_pressure: BACK_PRESSURE });

  const messages = makeMessages(1000);
  const events: RecordEvent[] = messages.map((message) => ({
    type: 'Delivery',
    message,
    response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'Ok: queued as 4W0Tqz2kHbz9sWn', command: '.\r\n' },
    site: 'unspecified->mx1.example.net@smtp_client',
    peerAddress: { name: 'mx1.example.net.', addr: '198.51.100.25' },
    egressPool: 'unspecified',
    egressSource: 'unspecified',
    sourceAddress: { address: '203.0.113.5:41872' },
    deliveryProtocol: 'ESMTP',
    tls: { cipher: 'TLS13_AES_256_GCM_SHA384', protocolVersion: 'TLSv1_3', peerSubjectName: ['CN=mx1.example.net'] },
    sessionId: 'c7e05a12-6b3d-4e8f-9a41-02d5f7b8e6c3',
  }));

  // The record builder alone (prepare + one capture config), for comparison.
  const captureOf = (logging as unknown as { localLogs: Array<{ capture: import('../src/records/capture.ts').CompiledCapture }> }).localLogs[0]!.capture;
  const builderRuns = 50_000;
  const b0 = process.hrtime.bigint();
  for (let i = 0; i < builderRuns; i++) logging.builder.prepare(events[i % events.length]!).build(captureOf);
  const builderRate = Math.round(builderRuns / (Number(process.hrtime.bigint() - b0) / 1e9));

  // Warm-up (JIT, zstd context), not measured.
  for (let i = 0; i < 2000; i++) await logging.log(events[i % events.length]!);
  await logging.flush();
  enqueued = 0;

  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  let peakRss = process.memoryUsage().rss;
  const latencies = new Float64Array(TOTAL);
  let next = 0;
  const started = process.hrtime.bigint();
  async function producer(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= TOTAL) return;
      const t0 = process.hrtime.bigint();
      await logging.log(events[i % events.length]!);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e3;
      if (i % 5000 === 0) {
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, producer));
  const submittedNs = Number(process.hrtime.bigint() - started);
  await logging.flush();
  const drainedNs = Number(process.hrtime.bigint() - started);
  const stats = logging.stats();
  await logging.close();

  const files = await fsp.readdir(dir);
  let diskBytes = 0;
  for (const f of files) diskBytes += (await fsp.stat(path.join(dir, f))).size;
  latencies.sort();
  const us = (v: number) => `${v.toFixed(1)}µs`;
  const mb = (v: number) => `${(v / 1048576).toFixed(1)} MB`;
  console.log(`records: ${TOTAL}, producers: ${CONCURRENCY}, back_pressure: ${BACK_PRESSURE}, node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(`builder only:    ${builderRate.toLocaleString()} records/s (prepare + build, incl. header capture)`);
  console.log(`submit rate:     ${Math.round(TOTAL / (submittedNs / 1e9)).toLocaleString()} records/s (log() returned for all)`);
  console.log(`end-to-end rate: ${Math.round(TOTAL / (drainedNs / 1e9)).toLocaleString()} records/s (written to segments + hook messages enqueued)`);
  console.log(`log() latency:   p50 ${us(pct(latencies, 50))}  p90 ${us(pct(latencies, 90))}  p99 ${us(pct(latencies, 99))}  p99.9 ${us(pct(latencies, 99.9))}  max ${us(latencies[latencies.length - 1]!)}`);
  console.log(`heap: before ${mb(heapBefore)}, peak sampled ${mb(peakHeap)}; peak rss ${mb(peakRss)}`);
  console.log(`hook enqueued ${enqueued}, backlog waits ${stats.hooks[0]!.backlogCount}, local log ${stats.localLogs[0]!.recordsWritten - 2000} lines in ${files.length} segment(s), ${mb(diskBytes)} compressed on disk`);
  await fsp.rm(dir, { recursive: true, force: true });
  reportFigure({ name: 'logging: builder + local log + log hook enqueue', unit: 'records/s', ours: TOTAL / (drainedNs / 1e9), baseline: null, higherIsBetter: true });
}

await main();
