/**
 * The whole log-hook path, as an operator runs it: a policy using
 * policy-extras.log_hooks:new_json, records fed into logging, each turned into
 * a queued message, delivered by the engine through a Lua connection and
 * kumo.http to a local sink.
 *
 *   node --import tsx bench/webhook-pipeline.ts [--records N] [--batch N] [--rate R] [--lua-threads N]
 *
 * Prints records/s, record→sink latency percentiles, memory, and how many
 * sockets the sink saw (kumo.http keeps them alive, so the count stays small).
 * Without --rate the records arrive as one burst (throughput; latency is then
 * mostly queueing behind the burst). With --rate R they arrive at a steady R
 * records/s, paced every 10 ms, so the p99 is the latency an operator sees
 * under that load (issue 13's target: ≤ 100 ms at 1,000 records/s).
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
const RECORDS = numberFlag('--records', RATE > 0 ? RATE * 10 : 10_000);
const BATCH = numberFlag('--batch', 1);
const TICK_MS = 10;
/** --lua-threads N: the hook's custom_lua connections run on N worker Lua states (src/pool). */
const LUA_THREADS = numberFlag('--lua-threads', 0);

const arrivals: number[] = [];
let sockets = 0;
const sink = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event_time: string } | { event_time: string }[];
    for (const r of Array.isArray(body) ? body : [body]) arrivals.push(now - Date.parse(r.event_time));
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
console.log(`records:      ${arrivals.length}/${RECORDS} delivered, batch_size ${BATCH}, ${RATE > 0 ? `steady ${RATE}/s` : 'one burst'}, node ${process.version}, ${os.cpus().length} cpus`);
console.log(`throughput:   ${Math.round((arrivals.length / (done - started)) * 1000)} records/s end to end (${done - started} ms; logging accepted them at ${Math.round((RECORDS / (produced - started)) * 1000)}/s)`);
console.log(`latency ms:   record → sink p50 ${pct(50)}  p90 ${pct(90)}  p99 ${pct(99)}  max ${sorted.at(-1)}`);
console.log(`memory MB:    rss ${(before.rss / 1e6).toFixed(0)} -> ${(after.rss / 1e6).toFixed(0)}, heap ${(before.heapUsed / 1e6).toFixed(0)} -> ${(after.heapUsed / 1e6).toFixed(0)}`);
console.log(`sink sockets: ${sockets}`);
const label = `log_hooks:new_json${BATCH > 1 ? ` batch_size ${BATCH}` : ' unbatched'}${LUA_THREADS ? ` --lua-threads ${LUA_THREADS}` : ''}`;
if (RATE > 0) {
  reportFigure({ name: `${label}, p99 event_time → sink at a steady ${RATE}/s`, unit: 'ms', ours: pct(99), baseline: null, higherIsBetter: false, target: 100 });
  reportFigure({ name: `${label}, delivered of ${RECORDS} at a steady ${RATE}/s`, unit: 'records', ours: arrivals.length, baseline: null, higherIsBetter: true, target: RECORDS });
} else {
  reportFigure({ name: `${label}, records → sink`, unit: 'records/s', ours: (arrivals.length / (done - started)) * 1000, baseline: null, higherIsBetter: true, target: BATCH > 1 ? 15_000 : 3000 });
  reportFigure({ name: `${label}, p99 event_time → sink (burst)`, unit: 'ms', ours: pct(99), baseline: null, higherIsBetter: false });
}
process.exit(0);
