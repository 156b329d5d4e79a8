/**
 * Building blocks for MetricsSource implementations: labelled counters,
 * gauges and histograms held as plain values, snapshotted on every scrape.
 */
import type { HistogramSeries, MetricFamily, MetricSeries } from '../ports.ts';

/**
 * The series key of a label set: every name and value length-prefixed, so
 * distinct label sets never share a key, built without the arrays and the
 * quoting of JSON.stringify(Object.entries(labels)) (several per message).
 */
function labelKey(labels: Record<string, string>): string {
  let key = '';
  for (const name of Object.keys(labels)) {
    const value = String(labels[name]);
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

export class SeriesFamily {
  private readonly series = new Map<string, MetricSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelKey(labels);
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { labels: { ...labels }, value: by });
  }

  dec(labels: Record<string, string> = {}, by = 1): void {
    this.inc(labels, -by);
  }

  set(labels: Record<string, string>, value: number): void {
    this.series.set(labelKey(labels), { labels: { ...labels }, value });
  }

  get(labels: Record<string, string> = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }

  snapshot(): MetricFamily {
    return { name: this.name, help: this.help, type: this.type, series: [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value })) };
  }
}

/** Prometheus' default latency buckets, in seconds. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HistogramFamily {
  private readonly series = new Map<string, { labels: Record<string, string>; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = DEFAULT_BUCKETS,
  ) {}

  observe(labels: Record<string, string>, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  snapshot(): MetricFamily {
    const series: HistogramSeries[] = [...this.series.values()].map((s) => ({ labels: { ...s.labels }, bucketCounts: [...s.counts], sum: s.sum, count: s.count }));
    return { name: this.name, help: this.help, type: 'histogram', buckets: [...this.buckets], series };
  }
}

/** A family from `[labelValue, value]` pairs, e.g. the queue engine's LabeledCounter entries. */
export function familyFromEntries(name: string, help: string, type: 'counter' | 'gauge', label: string, entries: Iterable<[string, number]>): MetricFamily {
  const series: MetricSeries[] = [];
  for (const [v, n] of entries) series.push({ labels: { [label]: v }, value: n });
  return { name, help, type, series };
}
