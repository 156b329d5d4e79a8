/**
 * Per-record cost of the JSON conversions a log hook pays, on a 570-byte
 * Delivery record: kumo.serde.json_parse, kumo.serde.json_encode of the
 * parsed table, and msg:get_meta('log_record') (the record a log hook's
 * message carries), each timed over a Lua loop, against V8's JSON.parse /
 * JSON.stringify of the same text in the same process.
 *
 *   node --import tsx bench/serde-json.ts [--iterations 2000] [--rounds 7] [--warmup 5] [--cpu] [--only parse|encode|get_meta|chain]
 *
 * Each figure is the median of `--rounds` timed loops after `--warmup` untimed ones (wall
 * clock, or process CPU time with `--cpu`); `--only` runs one figure (for
 * profiling one conversion with --cpu-prof). The record is 650 bytes of
 * JSON text (the "570-byte" name is the issue's).
 */
import { lua } from '../src/lua/fengari.ts';
import { keyBytes, pushText } from '../src/lua/strings.ts';
import { Message } from '../src/message/message.ts';
import { pushMessage } from '../src/message/lua-binding.ts';
import { newLua } from '../test/helpers/lua.ts';
import { median, numberFlag, reportFigure } from './report.ts';

const N = numberFlag('--iterations', 2000);

export const RECORD_570 = JSON.stringify({
  type: 'Delivery', id: '1d98076abbbc11ed940250ebf67f93bd', sender: 'news@sender.example', recipient: 'user42@example.net', site: 'unspecified->mx1.example.net@smtp_client', size: 2841,
  response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'OK queued as 4W0Tqz2kHbz9sWn', command: '.\r\n' },
  peer_address: { name: 'mx1.example.net.', addr: '198.51.100.25' }, timestamp: 1733300000, created: 1733299999,
  num_attempts: 0, egress_pool: 'unspecified', meta: { tenant: 'acme' }, headers: { Subject: 'June newsletter' }, delivery_protocol: 'ESMTP',
  reception_protocol: 'HTTP', event_time: '2024-12-04T08:13:20.123456Z',
  load: 0.25,
});

const t = newLua();
const L = t.ctx.runtime.L;
pushText(L, RECORD_570);
lua.lua_setglobal(L, keyBytes('RECORD_TEXT'));
const msg = new Message({ sender: 'news@sender.example', recipients: ['user42@example.net'], data: new TextEncoder().encode('Subject: x\r\n\r\nbody\r\n'), meta: { log_record: JSON.parse(RECORD_570) } });
lua.lua_pushcfunction(L, (Ls: never) => (pushMessage(Ls, msg), 1));
lua.lua_setglobal(L, keyBytes('the_msg'));

const ROUNDS = numberFlag('--rounds', 7);
/** Untimed rounds first: the JIT needs some 10,000 calls before the per-record cost settles. */
const WARMUP = numberFlag('--warmup', 5);

/** --cpu: time by the process's CPU use (user + system) instead of the wall clock; steadier on a loaded machine. */
const CPU = process.argv.includes('--cpu');
const nowMs = CPU
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : () => performance.now();

/** Median of `rounds` timings of fn (ms). */
async function medianMs(rounds: number, fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowMs();
    await fn();
    times.push(nowMs() - t0);
  }
  return median(times);
}

/**
 * µs per iteration of `body` run n times in one Lua loop: after WARMUP untimed
 * loops of the same size, the median of ROUNDS timed loops (a busy shared machine
 * makes single runs noisy), less the median of an empty loop's.
 */
async function perIterationUs(setup: string, body: string): Promise<number> {
  const chunk = (n: number) => `${setup}\nfor i = 1, ${n} do ${body} end\nreturn 0`;
  for (let w = 0; w < WARMUP; w++) await t.eval(chunk(N));
  const loop = await medianMs(ROUNDS, () => t.eval(chunk(N)));
  const empty = await medianMs(3, () => t.eval(chunk(0)));
  return ((loop - empty) * 1000) / N;
}

async function v8Us(fn: () => void): Promise<number> {
  for (let i = 0; i < N * WARMUP; i++) fn();
  return ((await medianMs(ROUNDS, () => {
    for (let i = 0; i < N; i++) fn();
  })) * 1000) / N;
}

const parsed = JSON.parse(RECORD_570) as unknown;
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const figures = [];
if (!only || only === 'parse') figures.push({ name: 'kumo.serde.json_parse, 570-byte record', ours: await perIterationUs('local text = RECORD_TEXT', 'local v = kumo.serde.json_parse(text)'), baseline: await v8Us(() => JSON.parse(RECORD_570)), target: 20 });
if (!only || only === 'encode') figures.push({ name: 'kumo.serde.json_encode, 570-byte record', ours: await perIterationUs('local v = kumo.serde.json_parse(RECORD_TEXT)', 'local s = kumo.serde.json_encode(v)'), baseline: await v8Us(() => JSON.stringify(parsed)), target: 15 });
if (!only || only === 'get_meta') figures.push({ name: "msg:get_meta('log_record'), 570-byte record", ours: await perIterationUs('local m = the_msg()', "local r = m:get_meta('log_record')"), baseline: await v8Us(() => JSON.parse(RECORD_570)), target: 20 });
if (!only || only === 'chain') figures.push({ name: "get_meta('log_record') → json_encode", ours: await perIterationUs('local m = the_msg()', "local s = kumo.serde.json_encode(m:get_meta('log_record'))"), baseline: await v8Us(() => JSON.stringify(JSON.parse(RECORD_570))), target: 35 });
console.log(`record ${Buffer.byteLength(RECORD_570)} bytes, median of ${ROUNDS} rounds of ${N} iterations each${CPU ? ', CPU time' : ''}`);
for (const f of figures) {
  console.log(`${f.name}: ${f.ours.toFixed(1)} µs (V8: ${f.baseline.toFixed(2)} µs)`);
  reportFigure({ ...f, unit: 'µs', higherIsBetter: false });
}
process.exit(0);
