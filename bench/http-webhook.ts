/**
 * Webhook throughput: a log-hook-style Lua handler posts each record through
 * kumo.http to the local recording sink, with N handlers in flight at once
 * on one Lua state.
 *
 *   node --import tsx bench/http-webhook.ts [records=10000] [concurrency=100]
 */
import { lua } from '../src/lua/fengari.ts';
import { newLua } from '../test/helpers/lua.ts';
import { WebhookSink } from '../test/helpers/webhook-sink.ts';
import { reportFigure } from './report.ts';

const TOTAL = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = Number(process.argv[3] ?? 100);

const sink = await WebhookSink.start({ respond: { status: 200, body: 'ok' } });
const t = newLua();
await t.load(`
  local kumo = require 'kumo'
  local client = kumo.http.build_client{ timeout = '10s' }
  kumo.on('deliver_record', function(id)
    local body = string.format('{"type":"Delivery","id":%d,"queue":"example.com","response":{"code":250,"content":"OK"}}', id)
    local resp = client:post('${sink.url}/webhook')
      :header('Content-Type', 'application/json')
      :header('X-Record-Id', id)
      :body(body)
      :send()
    if not resp:status_is_success() then
      kumo.reject(500, string.format('%d %s: %s', resp:status_code(), resp:status_reason(), resp:text()))
    end
    return resp:status_code()
  end)
`);

const latencies = new Float64Array(TOTAL);
let next = 0;
let failures = 0;
async function worker(): Promise<void> {
  while (next < TOTAL) {
    const id = next++;
    const started = performance.now();
    try {
      await t.ctx.events.fire('deliver_record', (L) => (lua.lua_pushinteger(L, id), 1));
    } catch {
      failures++;
    }
    latencies[id] = performance.now() - started;
  }
}

// Warm-up (JIT, first connections), not measured.
const warm = TOTAL;
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, 200) }, async (_, i) => t.ctx.events.fire('deliver_record', (L) => (lua.lua_pushinteger(L, warm + i), 1))));
const warmSockets = sink.socketCount;
sink.reset();

const memBefore = process.memoryUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const elapsed = performance.now() - t0;
const memAfter = process.memoryUsage();

const sorted = Array.from(latencies).sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

console.log(`records:        ${TOTAL} (concurrency ${CONCURRENCY}, failures ${failures}, sink got ${sink.requests.length})`);
console.log(`throughput:     ${Math.round(TOTAL / (elapsed / 1000))} records/s (${elapsed.toFixed(0)} ms)`);
console.log(`latency ms:     p50 ${pct(50)}  p90 ${pct(90)}  p99 ${pct(99)}  max ${sorted[sorted.length - 1]!.toFixed(2)}`);
console.log(`memory MB:      rss ${mb(memBefore.rss)} -> ${mb(memAfter.rss)}, heapUsed ${mb(memBefore.heapUsed)} -> ${mb(memAfter.heapUsed)}`);
console.log(`sink sockets:   ${warmSockets} opened by the warm-up burst, ${sink.socketCount} new during the measured run`);

reportFigure({ name: `kumo.http webhook posts, ${CONCURRENCY} in flight`, unit: 'records/s', ours: TOTAL / (elapsed / 1000), baseline: null, higherIsBetter: true });
await sink.close();
process.exit(failures > 0 ? 1 : 0);
