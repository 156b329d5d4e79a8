/**
 * Engine benchmark: `node --import tsx bench/engine.ts [--messages N] [--backlog N] [--million] [--backlog-only] [--hook]`.
 * 1. custom_lua throughput to a local HTTP sink (in a child process), batch_size 1 and 100,
 *    with insert→Delivery latency percentiles;
 * 2. memory per parked message for a large backlog (index-only entries), and the restart time.
 *    With --hook the backlog is log-hook messages, made exactly as a log hook
 *    makes them (makeLogMessage of a built Delivery record: `log_record` and
 *    `reception_protocol` meta, the JSON line as body, queue `webhook.log_hook`)
 *    and due in a day, as when the hook's endpoint is down and every message
 *    waits for its retry.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { QueueManager } from '../src/queue/manager.ts';
import { parseEgressPathConfig } from '../src/queue/egress-path-config.ts';
import type { RecordEvent } from '../src/records/types.ts';
import { SqliteSpool } from '../src/spool/sqlite-spool.ts';
import { SystemClock } from '../src/util/clock.ts';
import { HttpConnectionFactory, luaQueueConfig, makeMessage, tempDir } from '../test/helpers/engine.ts';
import { makeLogMessage, withNewline } from '../src/logging/log-message.ts';
import { Message } from '../src/message/message.ts';
import { RecordBuilder } from '../src/records/builder.ts';
import { CompiledCapture } from '../src/records/capture.ts';
import { reportFigure } from './report.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

const HOOK = args.includes('--hook');
const hookBuilder = new RecordBuilder({ clock: new SystemClock(), nodeId: '6f1d2c9e-28b9-11ef-8f3a-525400c0ffee' });
const hookCapture = new CompiledCapture({ meta: ['tenant'], headers: ['Subject'] });

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

if (args[0] === '--sink-child') {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('accepted');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
  process.on('SIGTERM', () => {
    process.stdout.write(`requests ${count}\n`);
    process.exit(0);
  });
} else {
  await main();
}

function startSink(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--sink-child'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('port ')) resolve({ url: `http://127.0.0.1:${line.slice(5)}`, stop: () => child.kill('SIGTERM') });
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function throughput(url: string, n: number, batchSize: number): Promise<void> {
  const dir = tempDir('kumo-bench-');
  const spool = new SqliteSpool({ path: dir.path });
  const insertedAt = new Map<string, number>();
  const latencies: number[] = [];
  let done!: () => void;
  const allDone = new Promise<void>((r) => (done = r));
  const records = {
    log: async (e: RecordEvent) => {
      if (e.type !== 'Delivery') return;
      latencies.push(performance.now() - insertedAt.get(e.message!.id)!);
      if (latencies.length === n) done();
    },
  };
  const factory = new HttpConnectionFactory(() => url);
  const manager = new QueueManager({
    clock: new SystemClock(), spool, records, connections: factory,
    resolveQueueConfig: async () => luaQueueConfig({ batch_size: batchSize }),
    resolveEgressPathConfig: async () => parseEgressPathConfig({ connection_limit: 32, max_ready: 1_000_000 }),
  });
  const t0 = performance.now();
  const concurrency = 256;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const msg = makeMessage(`r${next++}@bench.example`);
      insertedAt.set(msg.id, performance.now());
      await manager.insert(msg);
    }
  }));
  const insertMs = performance.now() - t0;
  await allDone;
  const totalMs = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const requests = factory.batchSizes.length;
  console.log(
    `custom_lua batch_size=${batchSize}: ${n} msgs in ${(totalMs / 1000).toFixed(2)} s = ${Math.round(n / (totalMs / 1000))} msg/s ` +
      `(insert ${Math.round(n / (insertMs / 1000))} msg/s, ${requests} HTTP requests, ${factory.connects.length} connections, ${spool.stats.commits} spool commits)`,
  );
  console.log(`  insert→Delivery latency ms: p50 ${percentile(latencies, 50).toFixed(1)}  p90 ${percentile(latencies, 90).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}  max ${latencies[latencies.length - 1]!.toFixed(1)}`);
  await manager.shutdown();
  spool.close();
  dir.cleanup();
}

/** insert→Delivery latency at a steady offered load below capacity. */
async function paced(url: string, n: number, ratePerSec: number): Promise<void> {
  const dir = tempDir('kumo-bench-');
  const spool = new SqliteSpool({ path: dir.path });
  const insertedAt = new Map<string, number>();
  const latencies: number[] = [];
  const records = {
    log: async (e: RecordEvent) => {
      if (e.type === 'Delivery') latencies.push(performance.now() - insertedAt.get(e.message!.id)!);
    },
  };
  const manager = new QueueManager({
    clock: new SystemClock(), spool, records, connections: new HttpConnectionFactory(() => url),
    resolveQueueConfig: async () => luaQueueConfig(),
    resolveEgressPathConfig: async () => parseEgressPathConfig({}),
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / ratePerSec - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const msg = makeMessage(`r${i}@bench.example`);
    insertedAt.set(msg.id, performance.now());
    void manager.insert(msg);
  }
  while (latencies.length < n) await new Promise((r) => setTimeout(r, 5));
  latencies.sort((a, b) => a - b);
  console.log(`paced ${ratePerSec} msg/s, batch_size=1: insert→Delivery latency ms: p50 ${percentile(latencies, 50).toFixed(2)}  p90 ${percentile(latencies, 90).toFixed(2)}  p99 ${percentile(latencies, 99).toFixed(2)}  max ${latencies[latencies.length - 1]!.toFixed(2)}`);
  await manager.shutdown();
  spool.close();
  dir.cleanup();
}

/** A log-hook message for the Delivery record of one received message (what LogHook.handle enqueues). */
function hookMessage(i: number): Message {
  const received = makeMessage(`r${i}@d${i % 100}.bench.example`, { tenant: `t${i % 10}`, queue: `d${i % 100}.bench.example` });
  const built = hookBuilder.build({
    type: 'Delivery', message: received, site: 'unspecified->mx.bench.example@smtp_client', deliveryProtocol: 'ESMTP',
    response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'Ok: queued as 4W0Tqz2kHbz9sWn', command: '.\r\n' },
    peerAddress: { name: 'mx.bench.example.', addr: '198.51.100.25' }, egressPool: 'unspecified', egressSource: 'unspecified',
  }, hookCapture);
  const msg = makeLogMessage(built.record, withNewline(built.text), Date.now());
  msg.setMeta('queue', 'webhook.log_hook');
  return msg;
}

async function backlog(n: number): Promise<void> {
  const dir = tempDir('kumo-bench-');
  const spool = new SqliteSpool({ path: dir.path });
  const mk = () => new QueueManager({
    clock: new SystemClock(), spool, records: { log: async () => {} },
    connections: { connect: async () => { throw new Error('not in this phase'); } },
    resolveQueueConfig: async () => luaQueueConfig(),
    resolveEgressPathConfig: async () => parseEgressPathConfig({}),
  });
  let manager = mk();
  const before = heapMb();
  const t0 = performance.now();
  const dueAt = Date.now() + 24 * 3_600_000;
  let next = 0;
  await Promise.all(Array.from({ length: 512 }, async () => {
    while (next < n) {
      const i = next++;
      const msg = HOOK ? hookMessage(i) : makeMessage(`r${i}@d${i % 100}.bench.example`, { tenant: `t${i % 10}` });
      msg.due = dueAt;
      await manager.insert(msg);
    }
  }));
  const insertS = (performance.now() - t0) / 1000;
  await spool.flush();
  const parked = manager.admin.scheduledCountTotal();
  const after = heapMb();
  console.log(`backlog: ${parked} parked messages in ${manager.admin.scheduledQueueCount()} queues, inserted at ${Math.round(n / insertS)} msg/s`);
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  console.log(`  heap ${before.toFixed(1)} → ${after.toFixed(1)} MB: ${Math.round(((after - before) * 1e6) / parked)} bytes per queued message (rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB)`);
  // Issue 13's target is for a million parked hook messages: ≤ 1 GiB of RSS.
  reportFigure({ name: `engine: RSS with ${parked.toLocaleString('en-US')} parked ${HOOK ? 'log-hook ' : ''}messages`, unit: 'MiB', ours: rssMiB, baseline: null, higherIsBetter: false, ...(n === 1_000_000 ? { target: 1024 } : {}) });
  await manager.shutdown();
  manager = mk();
  const beforeRestart = heapMb();
  const t1 = performance.now();
  const summary = await manager.start();
  const restartS = (performance.now() - t1) / 1000;
  const afterRestart = heapMb();
  console.log(`  restart: re-queued ${summary.requeued} in ${restartS.toFixed(2)} s (${Math.round(summary.requeued / restartS)} msg/s), ` +
    `${Math.round(((afterRestart - beforeRestart) * 1e6) / summary.requeued)} bytes per message after restart`);
  await manager.shutdown();
  spool.close();
  dir.cleanup();
}

async function main(): Promise<void> {
  const n = flag('--messages', 20_000);
  const backlogSize = args.includes('--million') ? 1_000_000 : flag('--backlog', 200_000);
  if (args.includes('--backlog-only')) {
    await backlog(backlogSize);
    process.exit(0);
  }
  const sink = await startSink();
  try {
    await throughput(sink.url, n, 1);
    await throughput(sink.url, n, 100);
    await paced(sink.url, 3000, 500);
  } finally {
    sink.stop();
  }
  await backlog(backlogSize);
  process.exit(0);
}
