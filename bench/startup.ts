/**
 * CLI start-up: `kumo-lua --validate examples/quickstart/init.lua` (wall time
 * and CPU time, median of N runs) beside `node -e 0` measured interleaved in
 * the same run. Uses the compiled bundle when dist/ is built and current
 * (`npm run build`), else the TypeScript sources through tsx; the figure's
 * name says which.
 *
 *   node --import tsx bench/startup.ts [--runs 5]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, numberFlag, reportFigure } from './report.ts';
// @ts-expect-error plain .mjs without type declarations
import { compiledEntry } from '../bin/compiled.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = numberFlag('--runs', 5);
// Prints the process's own CPU time (user + system, ms) on stderr as it exits.
const CPU_PROBE = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('CPU_MS '+((u.user+u.system)/1000)+'\\n')})`;

function run(args: string[]): { wallMs: number; cpuMs: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', CPU_PROBE, ...args], { cwd: ROOT, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /CPU_MS ([\d.]+)/.exec(r.stderr);
  return { wallMs, cpuMs: m ? Number(m[1]) : NaN };
}

const mode = (compiledEntry as (rel: string) => URL | null)('dist/cli/main.js') ? 'compiled dist/' : 'sources via tsx';
const ours: { wallMs: number; cpuMs: number }[] = [];
const base: { wallMs: number; cpuMs: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(run(['bin/kumo-lua.mjs', '--validate', 'examples/quickstart/init.lua']));
  base.push(run(['-e', '0']));
}
const name = `kumo-lua --validate quickstart (${mode})`;
reportFigure({ name: `${name}, wall`, unit: 'ms', ours: median(ours.map((r) => r.wallMs)), baseline: median(base.map((r) => r.wallMs)), higherIsBetter: false, target: 500 });
reportFigure({ name: `${name}, CPU`, unit: 'ms', ours: median(ours.map((r) => r.cpuMs)), baseline: median(base.map((r) => r.cpuMs)), higherIsBetter: false, target: 500 });
