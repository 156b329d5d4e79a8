/**
 * The whole log-hook path, as an operator runs it: a policy using
 * policy-extras.log_hooks:new_json, records fed into logging, each turned into
 * a queued message, delivered by the engine through a Lua connection and
 * kumo.http to a local sink.
 *
 *   node --import tsx bench/webhook-pipeline.ts [--records N] [--batch N] [--rate R] [--warmup S] [--timeline] [--lua-threads N]
 *
 * Prints records/s, record→sink latency percentiles, memory, and how many
 * sockets the sink saw (kumo.http keeps them alive, so the count stays small).
 * Without --rate the records arrive as one burst (throughput; latency is then
 * mostly queueing behind the burst). With --rate R they arrive at a steady R
 * records/s, paced every 10 ms, so the p99 is the latency an operator sees
 * under that load (issue 13's target: ≤ 100 ms at 1,000 records/s).
 *
 * With --rate, the first --warmup seconds (default 3) of records are a
 * warm-up: the daemon has just started, so they meet cold code (Fengari and
 * V8 not yet optimised, undici and the kumo.http client loaded on first use,
 * the ready queue ramping its connections up under the backlog that builds
 * meanwhile). Their p99 is printed as the cold-start figure; the steady
 * figure is over the records that follow. --timeline prints the worst
 * latency per 250 ms of event_time, which shows where a tail comes from.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import { Kumod } from '../src/daemon/kumod.ts';
import { Message } from '../src/message/message.ts';
import { MemoryLog } from '../src/kumo/diagnostics.ts';
import { numberFlag, percentile, reportFigure } from './report.ts';

const RATE = numberFlag('--rate', 0);
const WARMUP_S = RATE > 0 ? numberFlag('--warmup', 3) : 0;
/** --records counts the measured records; the warm-up's come on top. */
const RECORDS = numberFlag('--records', RATE > 0 ? RATE * 10 : 10_000) + Math.round(RATE * WARMUP_S);
const BATCH = numberFlag('--batch', 1);
const TICK_MS = 10;
const TIMELINE = process.argv.includes('--timeline');
/** --lua-threads N: the hook's custom_lua connections run on N worker Lua states (src/pool). */
const LUA_THREADS = numberFlag('--lua-threads', 0);

const arrivals: number[] = [];
/** [event_time, latency] of every record, to split warm-up from steady state. */
const timed: [number, number][] = [];
let sockets = 0;
const sink = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event_time: string } | { event_time: string }[];
    for (const r of Array.isArray(body) ? body : [body]) {
      const t = Date.parse(r.event_time);
      arrivals.push(now - t);
      timed.push([t, now - t]);
    }
    res.writeHead(200).end('ok');
  });
});
sink.on('connection', () => sockets++);
sink.keepAliveTimeout = 60_000;
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(sink.address() as { port: number }).port}/events`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-bench-'));
const policy = path.join(dir, 'init.lua');
fs.writeFileSync(
  policy,
  `local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'webhook', url = '${url}'${BATCH > 1 ? `, batch_size = ${BATCH}, max_batch_latency = '100ms'` : ''} }
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '${dir}/spool' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool' }
end)`,
);

const kumod = await Kumod.start({ policyFile: policy, runMode: 'serve', log: new MemoryLog(), luaThreads: LUA_THREADS });
const mb = () => process.memoryUsage();
const before = mb();
const started = Date.now();
for (let i = 0; i < RECORDS; i++) {
  // Steady rate: wait until the clock says record i is due.
  if (RATE > 0 && i % Math.max(1, Math.round((RATE * TICK_MS) / 1000)) === 0) {
    const dueAt = started + (i / RATE) * 1000;
    const wait = dueAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const msg = new Message({ sender: 'sender@example.com', recipients: [`user${i}@example.net`], data: new TextEncoder().encode(`Subject: bench ${i}\r\n\r\nhello\r\n`) });
  await kumod.services.records.log({ type: 'Delivery', message: msg, response: { code: 250, enhanced_code: null, content: 'OK', command: null }, site: '', deliveryProtocol: 'ESMTP' });
}
const produced = Date.now();
while (arrivals.length < RECORDS && Date.now() - produced < 300_000) await new Promise((r) => setTimeout(r, 20));
const done = Date.now();
const after = mb();
await kumod.shutdown();
sink.close();
fs.rmSync(dir, { recursive: true, force: true });

const sorted = [...arrivals].sort((a, b) => a - b);
const pct = (p: number) => percentile(sorted, p);
// event_time has millisecond resolution: a record is warm-up when it was logged in the first WARMUP_S seconds.
const warmEnd = started + WARMUP_S * 1000;
const steady = timed.filter(([t]) => t >= warmEnd).map(([, l]) => l).sort((a, b) => a - b);
const cold = timed.filter(([t]) => t < warmEnd).map(([, l]) => l).sort((a, b) => a - b);
console.log(`records:      ${arrivals.length}/${RECORDS} delivered, batch_size ${BATCH}, ${RATE > 0 ? `steady ${RATE}/s` : 'one burst'}, node ${process.version}, ${os.cpus().length} cpus`);
console.log(`throughput:   ${Math.round((arrivals.length / (done - started)) * 1000)} records/s end to end (${done - started} ms; logging accepted them at ${Math.round((RECORDS / (produced - started)) * 1000)}/s)`);
console.log(`latency ms:   record → sink p50 ${pct(50)}  p90 ${pct(90)}  p99 ${pct(99)}  max ${sorted.at(-1)}`);
console.log(`memory MB:    rss ${(before.rss / 1e6).toFixed(0)} -> ${(after.rss / 1e6).toFixed(0)}, heap ${(before.heapUsed / 1e6).toFixed(0)} -> ${(after.heapUsed / 1e6).toFixed(0)}`);
console.log(`sink sockets: ${sockets}`);
if (RATE > 0) {
  console.log(`warm-up:      first ${WARMUP_S} s (${cold.length} records) p50 ${percentile(cold, 50)}  p99 ${percentile(cold, 99)}  max ${cold.at(-1)}`);
  console.log(`steady:       next ${steady.length} records p50 ${percentile(steady, 50)}  p90 ${percentile(steady, 90)}  p99 ${percentile(steady, 99)}  max ${steady.at(-1)}`);
}
if (TIMELINE) {
  const worst = new Map<number, [number, number]>();
  for (const [t, l] of timed) {
    const k = Math.floor((t - started) / 250);
    const w = worst.get(k) ?? [0, 0];
    worst.set(k, [Math.max(w[0], l), w[1] + 1]);
  }
  console.log('timeline (event_time offset ms: records/worst latency ms):');
  console.log([...worst.entries()].sort((a, b) => a[0] - b[0]).map(([k, [w, n]]) => `${k * 250}:${n}/${w}`).join(' '));
}
const label = `log_hooks:new_json${BATCH > 1 ? ` batch_size ${BATCH}` : ' unbatched'}${LUA_THREADS ? ` --lua-threads ${LUA_THREADS}` : ''}`;
if (RATE > 0) {
  reportFigure({ name: `${label}, p99 event_time → sink at a steady ${RATE}/s`, unit: 'ms', ours: percentile(steady, 99), baseline: null, higherIsBetter: false, target: 100 });
  reportFigure({ name: `${label}, p99 event_time → sink in the first ${WARMUP_S} s after start at ${RATE}/s`, unit: 'ms', ours: percentile(cold, 99), baseline: null, higherIsBetter: false });
  reportFigure({ name: `${label}, delivered of ${RECORDS} at a steady ${RATE}/s`, unit: 'records', ours: arrivals.length, baseline: null, higherIsBetter: true, target: RECORDS });
} else {
  reportFigure({ name: `${label}, records → sink`, unit: 'records/s', ours: (arrivals.length / (done - started)) * 1000, baseline: null, higherIsBetter: true, target: BATCH > 1 ? 15_000 : 3000 });
  reportFigure({ name: `${label}, p99 event_time → sink (burst)`, unit: 'ms', ours: pct(99), baseline: null, higherIsBetter: false });
}
process.exit(0);
