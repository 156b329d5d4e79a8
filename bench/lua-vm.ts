/**
 * Lua VM micro-benchmark: integer/float arithmetic, table inserts, string ops
 * and function calls, in ops/s. Compares the vendored fork with upstream
 * fengari (if node_modules/fengari is still installed):
 *
 *   node --import tsx bench/lua-vm.ts [--vm vendored|upstream] [--runs N]
 *
 * Prints the median of N timed runs per workload (after one warm-up run).
 */
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const vm = flag('vm', 'vendored');
const runs = Number(flag('runs', '5'));
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fengari: any = vm === 'upstream' ? require('fengari') : require('../vendor/fengari/src/fengari.js');
const { lua, lauxlib, lualib, to_luastring } = fengari;

/** Each workload is a Lua function body run with `n` iterations; ops = n. */
const WORKLOADS: Record<string, { n: number; body: string }> = {
  'int arithmetic': { n: 2_000_000, body: 'local s = 0 for i = 1, n do s = s + i * 3 - (i // 7) + (i % 5) end return s' },
  'float arithmetic': { n: 2_000_000, body: 'local s = 0.5 for i = 1, n do s = s + i * 0.25 - s / 3 end return s' },
  'bitwise': { n: 1_000_000, body: 'local s = 0 for i = 1, n do s = (s ~ (i << 3)) & 0xffff | (i >> 2) end return s' },
  'table insert + read': { n: 500_000, body: 'local t = {} for i = 1, n do t[#t + 1] = i end local s = 0 for i = 1, #t do s = s + t[i] end return s' },
  'string ops': { n: 100_000, body: "local t = {} for i = 1, n do t[#t + 1] = ('k' .. i):upper():sub(1, 3) .. tostring(i * 2) end return #t" },
  'string.format': { n: 100_000, body: "local x for i = 1, n do x = string.format('%s-%d-%5.2f', 'item', i, i / 3) end return x" },
  'function calls': { n: 1_000_000, body: 'local function f(a, b) return a + b end local s = 0 for i = 1, n do s = f(s, i) end return s' },
};

function runOnce(body: string, n: number): number {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  if (lauxlib.luaL_loadstring(L, to_luastring(`local n = ... ${body}`)) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  lua.lua_pushinteger(L, n);
  const t0 = process.hrtime.bigint();
  if (lua.lua_pcall(L, 1, 1, 0) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

console.log(`vm: ${vm}, node ${process.version}, median of ${runs} runs`);
for (const [name, { n, body }] of Object.entries(WORKLOADS)) {
  runOnce(body, n);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(runOnce(body, n));
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${name.padEnd(22)} ${Math.round(n / median).toLocaleString().padStart(12)} ops/s`);
}
