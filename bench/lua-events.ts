/**
 * Per-event Lua cost through kumo-lua's runtime: a policy's handlers fired
 * one event at a time (coroutine per event, as the engine fires them), in
 * CPU microseconds per event. The handlers do what log-hook and routing
 * policies do per event: read a record, match strings, build a JSON body,
 * compute timestamps in milliseconds.
 *
 *   node --import tsx bench/lua-events.ts [--root DIR]... [--events N] [--runs N]
 *
 * Each --root (default: this checkout) is another checkout's src/, for
 * example an export of the commit before the Fengari fork
 * (`git archive b06089b | tar -x -C /tmp/before`, plus a node_modules link).
 * All roots load into one process, each with its own module graph and VM,
 * and run alternately, so machine load hits them alike. Times are CPU time
 * (user + system) per event, median of the runs after a warm-up run.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const roots = args.flatMap((a, i) => (a === '--root' && args[i + 1] ? [path.resolve(args[i + 1]!)] : []));
if (roots.length === 0) roots.push(path.resolve(import.meta.dirname, '..'));
const EVENTS = Number(flag('events', '20000'));
const RUNS = Number(flag('runs', '5'));

const POLICY = `
local kumo = require 'kumo'
local record = {
  type = 'Delivery', id = 'd2a7c1e04f8a11efa0b6f1a3c2d4e5f6', sender = 'news@sender.example',
  recipient = 'user123@example.net', queue = 'example.net', site = 'mx.example.net', size = 2345,
  response = { code = 250, enhanced_code = { class = 2, subject = 0, detail = 0 }, content = 'OK queued as 4Wx' },
  timestamp = 1722790000, created = 1722789990, num_attempts = 1, bounce_classification = 'Uncategorized',
  headers = { Subject = 'June newsletter', ['X-Campaign-Id'] = 'summer24' }, meta = { tenant = 'acme' },
}
local filters = { 'Reception', 'Delivery', 'TransientFailure', 'Bounce' }
kumo.on('bench_should_enqueue', function()
  for _, t in ipairs(filters) do
    if record.type == t then
      return record.meta.tenant ~= nil and not record.recipient:match('^postmaster@')
    end
  end
  return false
end)
kumo.on('bench_json_body', function()
  local out = {
    type = record.type, id = record.id, recipient = record.recipient,
    timestamp_ms = record.timestamp * 1000, latency_ms = (record.timestamp - record.created) * 1000,
    code = record.response.code, status = string.format('%d.%d.%d', record.response.enhanced_code.class,
      record.response.enhanced_code.subject, record.response.enhanced_code.detail),
  }
  return kumo.serde.json_encode(out)
end)
kumo.on('bench_routing', function()
  local domain = record.recipient:match('@(.+)$'):lower()
  local tenant = record.meta.tenant or 'default'
  local parts = {}
  for label in domain:gmatch('[^.]+') do parts[#parts + 1] = label end
  local key = string.format('%s:%s:%d', tenant, table.concat(parts, '.'), #parts)
  local hash = 0
  for i = 1, #key do hash = (hash * 31 + key:byte(i)) % 4294967296 end
  return key .. '/' .. (hash % 16)
end)
`;

type Create = typeof import('../src/policy/create.ts');
type Ctx = ReturnType<Create['createKumoContext']>;
const contexts: Ctx[] = [];
for (const root of roots) {
  const { createKumoContext, loadPolicySource } = (await import(pathToFileURL(path.join(root, 'src/policy/create.ts')).href)) as Create;
  const ctx = createKumoContext({ print: () => undefined });
  await loadPolicySource(ctx, POLICY, 'bench.lua');
  contexts.push(ctx);
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const names = ['bench_should_enqueue', 'bench_json_body', 'bench_routing'];
async function runOnce(ctx: Ctx, name: string): Promise<number> {
  const t0 = cpuMicros();
  for (let i = 0; i < EVENTS; i++) await ctx.events.dispatch(name, () => 0, () => undefined);
  return (cpuMicros() - t0) / EVENTS;
}

console.log(`node ${process.version}, ${EVENTS} events per run, CPU µs/event, median of ${RUNS} alternating runs`);
roots.forEach((r, i) => console.log(`  [${i}] ${r}`));
for (const name of names) {
  for (const ctx of contexts) await runOnce(ctx, name);
  const times: number[][] = contexts.map(() => []);
  for (let r = 0; r < RUNS; r++) for (let i = 0; i < contexts.length; i++) times[i]!.push(await runOnce(contexts[i]!, name));
  const medians = times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!);
  const change = medians.slice(1).map((m) => ` ${(((m - medians[0]!) / medians[0]!) * 100).toFixed(1)}%`).join('');
  console.log(`BENCH ${name} ${medians.map((m) => m.toFixed(2)).join(' ')} µs/event${medians.length > 1 ? ` (time change vs [0]:${change})` : ''}`);
}
for (const ctx of contexts) ctx.runtime.close();
