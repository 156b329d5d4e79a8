/**
 * Runs every benchmark and prints one table: our figure, the raw-Node
 * baseline measured in the same process run, and their ratio. Each bench runs
 * in its own child process; with 3 rounds (the default) the benches are
 * interleaved round by round and each column is the median of the rounds
 * (the ratio is the median of the per-run ratios), so load from other
 * processes on the machine hits ours and the baseline alike.
 *
 *   node --import tsx bench/run-all.ts [--quick] [--only substring]
 *   npm run bench
 *
 * A bench joins by printing `BENCH {...}` lines (bench/report.ts) and being
 * listed in BENCHES below.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_PREFIX, median, type BenchFigure } from './report.ts';

export interface BenchEntry {
  /** File under bench/. */
  file: string;
  args?: string[];
}

/** Every benchmark run-all runs; other branches append theirs here. */
export const BENCHES: BenchEntry[] = [
  { file: 'startup.ts' },
  { file: 'serde-json.ts' },
  { file: 'inject-recipients.ts' },
  { file: 'inject-maildir-hook.ts', args: ['--no-hook'] },
  { file: 'inject-maildir-hook.ts' },
  { file: 'log-hooks.ts', args: ['50000'] },
  { file: 'http-webhook.ts' },
  { file: 'webhook-pipeline.ts' },
  { file: 'webhook-pipeline.ts', args: ['--batch', '100'] },
  { file: 'webhook-pipeline.ts', args: ['--rate', '1000'] },
  { file: 'engine.ts', args: ['--million', '--backlog-only'] },
  { file: 'engine.ts', args: ['--million', '--backlog-only', '--hook'] },
  { file: 'spool.ts' },
  { file: 'smtp-delivery.ts', args: ['--runs', '1'] },
];

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const rounds = args.includes('--quick') ? 1 : 3;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]! : null;

function runBench(entry: BenchEntry): Promise<BenchFigure[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(HERE, entry.file), ...(entry.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const figures = out.split('\n').filter((l) => l.startsWith(BENCH_PREFIX)).map((l) => JSON.parse(l.slice(BENCH_PREFIX.length)) as BenchFigure);
      if (code !== 0 || figures.length === 0) process.stderr.write(`${entry.file} ${(entry.args ?? []).join(' ')}: exit ${code}, ${figures.length} figures\n${err.slice(-2000)}`);
      resolve(figures);
    });
  });
}

const entries = BENCHES.filter((b) => only === null || `${b.file} ${(b.args ?? []).join(' ')}`.includes(only));
const samples = new Map<string, BenchFigure[]>();
for (let round = 0; round < rounds; round++) {
  for (const entry of entries) {
    process.stderr.write(`round ${round + 1}/${rounds}: ${entry.file} ${(entry.args ?? []).join(' ')}\n`);
    for (const f of await runBench(entry)) {
      const list = samples.get(f.name) ?? [];
      list.push(f);
      samples.set(f.name, list);
    }
  }
}

const fmt = (v: number | null) => (v === null || Number.isNaN(v) ? '-' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
const rows = [['benchmark', 'unit', 'ours', 'baseline', 'ours/baseline', 'target', 'met']];
for (const [name, list] of samples) {
  const first = list[0]!;
  const ours = median(list.map((f) => f.ours));
  const withBase = list.filter((f) => f.baseline !== null && f.baseline > 0);
  const baseline = withBase.length ? median(withBase.map((f) => f.baseline!)) : null;
  // Rates: ours/baseline (higher is better); durations: baseline/ours, so ≥ 1 always means "as fast".
  const ratio = withBase.length ? median(withBase.map((f) => (f.higherIsBetter ? f.ours / f.baseline! : f.baseline! / f.ours))) : null;
  const met = first.target === undefined ? '' : (first.higherIsBetter ? ours >= first.target : ours <= first.target) ? 'yes' : 'no';
  rows.push([name, first.unit, fmt(ours), fmt(baseline), ratio === null ? '-' : `${(ratio * 100).toFixed(1)} %`, first.target === undefined ? '' : `${first.higherIsBetter ? '≥' : '≤'} ${fmt(first.target)}`, met]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  '));
console.log(`\n${rounds === 1 ? '1 run' : `median of ${rounds} interleaved runs`}; ratio for durations is baseline/ours (≥ 100 % = as fast as the baseline).`);
