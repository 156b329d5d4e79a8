/**
 * The issue-13 scenario, end to end: HTTP injection (100 recipients per
 * request, 4 requests in flight) → spool → Maildir delivery → every Reception
 * and Delivery record published by a KumoMTA-docs-style batched log hook
 * (`log_hooks:new` whose constructor's send_batch collects
 * `msg:get_meta 'log_record'` and posts one `kumo.serde.json_encode` per
 * batch, batch_size 100) → a local HTTP sink.
 *
 * Baseline, same process run, same sink: a raw Node client (fetch/undici)
 * posting the very batches the sink received, 4 in flight.
 *
 *   node --import tsx bench/inject-maildir-hook.ts [--messages 5000] [--no-hook] [--lua-threads N]
 *
 * With --no-hook it measures injection → Maildir alone (messages/s), and the
 * baseline is a raw Node HTTP server that parses the same requests and writes
 * one file per recipient.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import { Kumod } from '../src/daemon/kumod.ts';
import { MemoryLog } from '../src/kumo/diagnostics.ts';
import { LISTENERS } from '../src/server/ports.ts';
import { numberFlag, percentile, reportFigure } from './report.ts';

const MESSAGES = numberFlag('--messages', 5000);
const PER_REQUEST = 100;
const IN_FLIGHT = 4;
const WITH_HOOK = !process.argv.includes('--no-hook');
/** --lua-threads N: the hook's custom_lua connections run on N worker Lua states (src/pool). */
const LUA_THREADS = numberFlag('--lua-threads', 0);

/** The sink: records arrive as JSON arrays; keeps each body (for the baseline) and the event_time → arrival latency. */
class Sink {
  bodies: string[] = [];
  records = 0;
  latencies: number[] = [];
  private server: Server;
  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const now = Date.now();
        const text = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(text) as { event_time: string }[] | { event_time: string };
        const list = Array.isArray(body) ? body : [body];
        this.records += list.length;
        for (const r of list) this.latencies.push(now - Date.parse(r.event_time));
        this.bodies.push(text);
        res.writeHead(200).end('ok');
      });
    });
    this.server.keepAliveTimeout = 60_000;
  }
  static async start(): Promise<Sink> {
    const s = new Sink();
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    return s;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/log`;
  }
  reset(): void {
    this.bodies = [];
    this.records = 0;
    this.latencies = [];
  }
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

function policy(dir: string, sinkUrl: string): string {
  const hook = `
log_hooks:new {
  name = 'webhook',
  batch_size = 100,
  constructor = function(domain, tenant, campaign)
    local connection = {}
    local client = kumo.http.build_client {}
    function connection:send_batch(messages)
      local payload = {}
      for _, msg in ipairs(messages) do
        table.insert(payload, msg:get_meta 'log_record')
      end
      local response = client:post('${sinkUrl}')
        :header('Content-Type', 'application/json')
        :body(kumo.serde.json_encode(payload))
        :send()
      local disposition = string.format('%d %s: %s', response:status_code(), response:status_reason(), response:text())
      if response:status_is_success() then
        return disposition
      end
      kumo.reject(500, disposition)
    end
    function connection:close()
      client:close()
    end
    return connection
  end,
}`;
  return `
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'
${WITH_HOOK ? hook : ''}
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config { protocol = { maildir_path = '${dir}/maildir' } }
end)
`;
}

const CONTENT = `From: news@sender.example\r\nSubject: June newsletter\r\nX-Campaign: june\r\nMessage-ID: <bench@sender.example>\r\n\r\n${'Hello there, this is the body of the newsletter.\r\n'.repeat(20)}`;

function injectBodies(): string[] {
  const out: string[] = [];
  for (let m = 0; m < MESSAGES; m += PER_REQUEST) {
    const recipients = [];
    for (let i = m; i < Math.min(MESSAGES, m + PER_REQUEST); i++) recipients.push({ email: `user${i}@example.net` });
    out.push(JSON.stringify({ envelope_sender: 'news@sender.example', recipients, content: CONTENT }));
  }
  return out;
}

/** Posts the bodies to url with `IN_FLIGHT` requests outstanding; throws on a non-2xx answer. */
async function postAll(url: string, bodies: string[]): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text}`);
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function maildirCount(dir: string): number {
  try {
    return fs.readdirSync(path.join(dir, 'maildir', 'new')).length;
  } catch {
    return 0;
  }
}

/** Our daemon: returns ms from the first request to the last record at the sink (or last Maildir file). */
async function runOurs(sink: Sink): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-bench-inject-'));
  const policyFile = path.join(dir, 'init.lua');
  fs.writeFileSync(policyFile, policy(dir, sink.url));
  const kumod = await Kumod.start({ policyFile, runMode: 'serve', log: new MemoryLog(), luaThreads: LUA_THREADS });
  const address = kumod.ctx.optional(LISTENERS)?.all.find((l) => l.kind === 'http')?.address;
  const bodies = injectBodies();
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  await postAll(`http://${address}/api/inject/v1`, bodies);
  if (WITH_HOOK) await waitFor(() => sink.records >= 2 * MESSAGES, `${2 * MESSAGES} records at the sink (have ${sink.records})`);
  else {
    // The engine's delivered counter moves once a message's files are renamed into new/;
    // polling it costs nothing, where a readdir of new/ every 5 ms took ~13 % of the CPU.
    const delivered = () => kumod.services.manager!.metrics.deliveredByQueue.entries().reduce((n, [, v]) => n + v, 0);
    await waitFor(() => delivered() >= MESSAGES, `${MESSAGES} Maildir deliveries (have ${delivered()})`);
  }
  const elapsed = Date.now() - started;
  const cpu = process.cpuUsage(cpu0);
  // Process CPU (main thread, libuv pool, SQLite, the in-process sink and client): steadier than wall time on a busy machine.
  console.log(`cpu: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms for ${MESSAGES} messages (${((cpu.user + cpu.system) / MESSAGES).toFixed(0)} µs per message, load ${os.loadavg()[0]!.toFixed(2)})`);
  const spool = kumod.services.manager!.spool.stats;
  console.log(`spool: ${spool.commits} commits, ${(spool.ops / Math.max(1, spool.commits)).toFixed(1)} writes per commit`);
  if (!WITH_HOOK && maildirCount(dir) !== MESSAGES) throw new Error(`expected ${MESSAGES} Maildir files, found ${maildirCount(dir)}`);
  await kumod.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
  return elapsed;
}

/** Raw Node: a bare HTTP server that parses each injection and writes one file per recipient. */
async function runRawInjectToFiles(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-bench-raw-'));
  let seq = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { recipients: { email: string }[]; content: string };
      await Promise.all(body.recipients.map((r) => fs.promises.writeFile(path.join(dir, `${seq++}.eml`), `Return-Path: <x>\r\nX-To: ${r.email}\r\n${body.content}`)));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success_count: body.recipients.length, fail_count: 0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const started = Date.now();
  await postAll(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, injectBodies());
  const elapsed = Date.now() - started;
  server.closeAllConnections();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return elapsed;
}

const sink = await Sink.start();
if (WITH_HOOK) {
  const oursMs = await runOurs(sink);
  const records = sink.records;
  const sorted = [...sink.latencies].sort((a, b) => a - b);
  const batches = sink.bodies;
  sink.reset();
  const t0 = Date.now();
  await postAll(sink.url, batches);
  const rawMs = Date.now() - t0;
  console.log(`ours: ${records} records in ${oursMs} ms (${batches.length} batches; event_time→sink p50 ${percentile(sorted, 50)} ms p99 ${percentile(sorted, 99)} ms); raw client: same batches in ${rawMs} ms`);
  reportFigure({ name: 'inject→Maildir→log_hooks:new batch 100→sink', unit: 'records/s', ours: (records / oursMs) * 1000, baseline: (records / rawMs) * 1000, higherIsBetter: true, target: 10_000 });
} else {
  const oursMs = await runOurs(sink);
  const rawMs = await runRawInjectToFiles();
  console.log(`ours: ${MESSAGES} messages injected and in Maildir in ${oursMs} ms; raw Node server writing files: ${rawMs} ms`);
  reportFigure({ name: 'inject→Maildir, no hooks', unit: 'messages/s', ours: (MESSAGES / oursMs) * 1000, baseline: (MESSAGES / rawMs) * 1000, higherIsBetter: true, target: 5000 });
}
sink.close();
process.exit(0);
