/**
 * Lua VM micro-benchmark: integer/float arithmetic, bitwise ops, table
 * inserts, string ops, string.format and function calls, in ops/s.
 *
 *   node --import tsx bench/lua-vm.ts [--vm vendored|upstream|both] [--runs N]
 *
 * With `both` (the default when node_modules/fengari is installed) the two
 * VMs run in one process, alternating run by run, so machine load hits both
 * alike. Times are CPU time (user + system) of the process, median of N runs
 * after a warm-up.
 */
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fengari = any;
function upstream(): Fengari | undefined {
  try {
    return require('fengari');
  } catch {
    return undefined;
  }
}
const vendored: Fengari = require('../vendor/fengari/src/fengari.js');
const choice = flag('vm', upstream() ? 'both' : 'vendored');
const vms: Array<[string, Fengari]> = [];
if (choice === 'upstream' || choice === 'both') {
  const up = upstream();
  if (!up) throw new Error('upstream fengari is not installed (npm install --no-save fengari@0.1.5)');
  vms.push(['upstream', up]);
}
if (choice === 'vendored' || choice === 'both') vms.push(['vendored', vendored]);
const runs = Number(flag('runs', '5'));

/** Each workload is a Lua function body run with `n` iterations; ops = n. */
const WORKLOADS: Record<string, { n: number; body: string }> = {
  // Sums below 2^31: values V8 keeps as small integers in both VMs.
  'int arithmetic, int32': { n: 2_000_000, body: 'local s = 0 for i = 1, n do s = (s + i * 3 - (i // 7) + (i % 5)) % 1000003 end return s' },
  // Sums beyond 2^31: upstream wraps (wrong results, but cheap int32s); the fork keeps exact doubles.
  'int arithmetic': { n: 2_000_000, body: 'local s = 0 for i = 1, n do s = s + i * 3 - (i // 7) + (i % 5) end return s' },
  'float arithmetic': { n: 2_000_000, body: 'local s = 0.5 for i = 1, n do s = s + i * 0.25 - s / 3 end return s' },
  'bitwise': { n: 1_000_000, body: 'local s = 0 for i = 1, n do s = (s ~ (i << 3)) & 0xffff | (i >> 2) end return s' },
  'table insert + read': { n: 500_000, body: 'local t = {} for i = 1, n do t[#t + 1] = i end local s = 0 for i = 1, #t do s = s + t[i] end return s' },
  'string ops': { n: 100_000, body: "local t = {} for i = 1, n do t[#t + 1] = ('k' .. i):upper():sub(1, 3) .. tostring(i * 2) end return #t" },
  'string.format': { n: 100_000, body: "local x for i = 1, n do x = string.format('%s-%d-%5.2f', 'item', i, i / 3) end return x" },
  'function calls': { n: 1_000_000, body: 'local function f(a, b) return a + b end local s = 0 for i = 1, n do s = f(s, i) % 65536 end return s' },
};

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function runOnce(f: Fengari, body: string, n: number): number {
  const { lua, lauxlib, lualib, to_luastring } = f;
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  if (lauxlib.luaL_loadstring(L, to_luastring(`local n = ... ${body}`)) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  lua.lua_pushinteger(L, n);
  const t0 = cpuSeconds();
  if (lua.lua_pcall(L, 1, 1, 0) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  return cpuSeconds() - t0;
}

console.log(`node ${process.version}, CPU-time median of ${runs} alternating runs`);
console.log(`${'workload'.padEnd(22)}${vms.map(([name]) => name.padStart(14)).join('')}${vms.length === 2 ? '   change' : ''}`);
for (const [name, { n, body }] of Object.entries(WORKLOADS)) {
  for (const [, f] of vms) runOnce(f, body, n);
  const times: number[][] = vms.map(() => []);
  for (let r = 0; r < runs; r++) vms.forEach(([, f], i) => times[i]!.push(runOnce(f, body, n)));
  const rates = times.map((ts) => {
    ts.sort((a, b) => a - b);
    return n / ts[Math.floor(ts.length / 2)]!;
  });
  const change = rates.length === 2 ? `   ${(((rates[1]! - rates[0]!) / rates[0]!) * 100).toFixed(1).padStart(6)}%` : '';
  console.log(`${name.padEnd(22)}${rates.map((r) => Math.round(r).toLocaleString().padStart(14)).join('')}${change}`);
}
