/**
 * Renders metric families: Prometheus text through prom-client's registry
 * (escaping, layout) and KumoMTA's `/metrics.json` shape (engine.md §8.11).
 */
import type { Metric, MetricObjectWithValues, MetricValue } from 'prom-client';
import { lazyRequire } from '../../util/lazy-require.ts';
import type { MetricFamily } from '../ports.ts';

const promClient = lazyRequire<typeof import('prom-client')>('prom-client');

type PromValues = MetricValue<string>[];

function promValues(f: MetricFamily, name: string): PromValues {
  if (f.type !== 'histogram') return f.series.map((s) => ({ labels: s.labels, value: s.value }));
  const out: PromValues = [];
  for (const s of f.series) {
    f.buckets.forEach((le, i) => out.push({ labels: { ...s.labels, le }, value: s.bucketCounts[i] ?? 0, metricName: `${name}_bucket` } as MetricValue<string>));
    out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` } as MetricValue<string>);
    out.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` } as MetricValue<string>);
    out.push({ labels: s.labels, value: s.count, metricName: `${name}_count` } as MetricValue<string>);
  }
  return out;
}

/** A registry entry that reports a snapshot (prom-client calls `get()` while rendering). */
function snapshotMetric(f: MetricFamily, name: string): Metric<string> {
  const obj = {
    name,
    help: f.help,
    type: f.type,
    aggregator: 'sum',
    get: async (): Promise<MetricObjectWithValues<MetricValue<string>>> =>
      ({ name, help: f.help, type: f.type, aggregator: 'sum', values: promValues(f, name) }) as unknown as MetricObjectWithValues<MetricValue<string>>,
    reset: () => undefined,
  };
  return obj as unknown as Metric<string>;
}

/** Families with the same name (from different sources) are merged. */
export function mergeFamilies(families: MetricFamily[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const f of families) {
    const prev = byName.get(f.name);
    if (!prev) byName.set(f.name, { ...f, series: [...f.series] } as MetricFamily);
    else (prev.series as unknown[]).push(...f.series);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function renderPrometheus(families: MetricFamily[], prefix = ''): Promise<string> {
  const registry = new (promClient().Registry)();
  for (const f of mergeFamilies(families)) registry.registerMetric(snapshotMetric(f, prefix + f.name));
  return registry.metrics();
}

function jsonValueOf(f: MetricFamily, i: number): unknown {
  if (f.type !== 'histogram') return f.series[i]!.value;
  const s = f.series[i]!;
  return {
    count: s.count,
    sum: s.sum,
    avg: s.count > 0 ? s.sum / s.count : 0,
    bucket: [...f.buckets.map((le, j) => [le, s.bucketCounts[j] ?? 0]), [Infinity, s.count]].filter(([le]) => Number.isFinite(le)),
  };
}

/** `{"<name>": {"help", "type", "value"}}` with KumoMTA's value shapes by label count. */
export function renderJson(families: MetricFamily[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of mergeFamilies(families)) {
    let value: unknown = null;
    if (f.series.length > 0) {
      const labelNames = Object.keys(f.series[0]!.labels);
      if (labelNames.length === 0) value = jsonValueOf(f, 0);
      else if (labelNames.length === 1) {
        const label = labelNames[0]!;
        const byValue: Record<string, unknown> = {};
        f.series.forEach((s, i) => (byValue[s.labels[label] ?? ''] = jsonValueOf(f, i)));
        value = { [label]: byValue };
      } else {
        value = f.series.map((s, i) => ({ ...s.labels, '@': jsonValueOf(f, i) }));
      }
    }
    out[f.name] = { help: f.help.split('\n')[0], type: f.type, value };
  }
  return out;
}
