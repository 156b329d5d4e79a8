/**
 * The one shape every benchmark reports in, so bench/run-all.ts can collect
 * any bench without knowing it: one line per figure on stdout,
 *
 *   BENCH {"name":"...","unit":"records/s","ours":1234,"baseline":5678,"higherIsBetter":true}
 *
 * `baseline` is the raw-Node (or undici / V8 JSON) equivalent measured in the
 * same process run, or null when a figure has no baseline (an absolute target).
 */
export interface BenchFigure {
  name: string;
  unit: string;
  ours: number;
  baseline: number | null;
  /** true for rates (records/s), false for durations and sizes (µs, ms, MiB). */
  higherIsBetter: boolean;
  /** The target for `ours`, when it names one (same unit). */
  target?: number;
}

export const BENCH_PREFIX = 'BENCH ';

export function reportFigure(figure: BenchFigure): void {
  console.log(BENCH_PREFIX + JSON.stringify(figure));
}

/** Command-line flag `--name N` as a number, or the default. */
export function numberFlag(name: string, dflt: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
