/**
 * Cost of time slicing in the Lua runtime (src/lua/runtime.ts): the same work
 * through LuaRuntime with slicing on (the default slice) and off
 * (sliceMs: Infinity), alternating run by run. CPU time, median of N runs.
 *
 *   node --import tsx bench/lua-slices.ts [--runs N]
 *
 * - tiny handler: many short entries (one per event), the per-event cost;
 * - busy handler: one long CPU-bound entry, parked every slice when on.
 */
import { LuaRuntime } from '../src/lua/runtime.ts';
import { lua } from '../src/lua/fengari.ts';

const args = process.argv.slice(2);
const i = args.indexOf('--runs');
const runs = i >= 0 ? Number(args[i + 1]) : 7;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const WORKLOADS: Record<string, { calls: number; code: string }> = {
  'tiny handler x20000': { calls: 20_000, code: 'local t = {} for i = 1, 20 do t[i] = i * 2 end return #t' },
  'busy handler (30M instr)': { calls: 1, code: 'local s = 0 for i = 1, 6000000 do s = (s + i * 3) % 1000003 end return s' },
};

async function runOnce(sliceMs: number, calls: number, code: string): Promise<number> {
  const rt = new LuaRuntime({ sliceMs, print: () => undefined });
  const read = (co: unknown) => Number(lua.lua_tonumber(co, 1));
  const t0 = cpuSeconds();
  for (let c = 0; c < calls; c++) await rt.evaluate(code, read, 'event');
  return cpuSeconds() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`node ${process.version}, CPU-time median of ${runs} alternating runs (ms)`);
console.log(`${'workload'.padEnd(28)}${'slicing off'.padStart(13)}${'slicing on'.padStart(13)}   change`);
for (const [name, { calls, code }] of Object.entries(WORKLOADS)) {
  await runOnce(Infinity, calls, code);
  await runOnce(25, calls, code);
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < runs; r++) {
    off.push(await runOnce(Infinity, calls, code));
    on.push(await runOnce(25, calls, code));
  }
  const a = median(off) * 1000;
  const b = median(on) * 1000;
  console.log(`${name.padEnd(28)}${a.toFixed(0).padStart(13)}${b.toFixed(0).padStart(13)}   ${(((b - a) / a) * 100).toFixed(1).padStart(6)}%`);
}
