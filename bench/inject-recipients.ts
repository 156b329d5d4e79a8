/**
 * One HTTP injection with many recipients (default 10,000), answered when
 * every message is spooled, logged and queued: how long until the response.
 * The engine delivers to Maildir meanwhile (as a daemon would).
 *
 * Baseline, same process run: a raw Node HTTP server that parses the same
 * request and answers the same JSON shape (the transport and JSON floor).
 *
 *   node --import tsx bench/inject-recipients.ts [--recipients 10000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import { Kumod } from '../src/daemon/kumod.ts';
import { MemoryLog } from '../src/kumo/diagnostics.ts';
import { LISTENERS } from '../src/server/ports.ts';
import { numberFlag, reportFigure } from './report.ts';

const RECIPIENTS = numberFlag('--recipients', 10_000);

const body = JSON.stringify({
  envelope_sender: 'news@sender.example',
  recipients: Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `user${i}@example.net` })),
  content: `From: news@sender.example\r\nSubject: hello\r\n\r\n${'A line of body text.\r\n'.repeat(20)}`,
});

async function timePost(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { success_count: number };
  if (!res.ok || json.success_count !== RECIPIENTS) throw new Error(`injection answered ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
  return performance.now() - t0;
}

async function ours(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-bench-rcpt-'));
  const policyFile = path.join(dir, 'init.lua');
  fs.writeFileSync(policyFile, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = '${dir}/maildir' } }
end)`);
  const kumod = await Kumod.start({ policyFile, runMode: 'serve', log: new MemoryLog() });
  const address = kumod.ctx.optional(LISTENERS)?.all.find((l) => l.kind === 'http')?.address;
  const ms = await timePost(`http://${address}/api/inject/v1`);
  await kumod.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function raw(): Promise<number> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { recipients: unknown[] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success_count: parsed.recipients.length, fail_count: 0, failed_recipients: [], errors: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ms = await timePost(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  server.closeAllConnections();
  server.close();
  return ms;
}

const oursMs = await ours();
const rawMs = await raw();
console.log(`one injection of ${RECIPIENTS} recipients: answered after ${oursMs.toFixed(0)} ms (raw Node parse-and-answer: ${rawMs.toFixed(1)} ms)`);
reportFigure({ name: `inject ${RECIPIENTS} recipients in one request`, unit: 'ms', ours: oursMs, baseline: rawMs, higherIsBetter: false, target: RECIPIENTS === 10_000 ? 2000 : undefined });
process.exit(0);
