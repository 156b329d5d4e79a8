/**
 * kumo.counter_series (lua-api-more.md §3.12): a rolling counter of
 * `num_buckets` buckets of `bucket_size` whole seconds each, defined by name
 * (defining the same name with another shape replaces it). Values are
 * non-negative integers; `delta` saturates at 0.
 */
import { argInteger } from '../lua/args.ts';
import { pushNumber } from '../lua/marshal.ts';
import { LuaClass } from '../lua/userdata.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import type { Clock } from '../util/clock.ts';
import { parseDuration } from '../util/duration.ts';
import { toText } from '../lua/strings.ts';
import { StructReader } from './support/struct-args.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

export class CounterSeries {
  /** buckets[0] is the current bucket. */
  private buckets: number[];
  private bucketNo: number;

  constructor(readonly numBuckets: number, readonly bucketSecs: number, initial: number, private readonly clock: Clock) {
    this.buckets = new Array<number>(numBuckets).fill(0);
    this.buckets[0] = initial;
    this.bucketNo = this.currentBucketNo();
  }

  private currentBucketNo(): number {
    return Math.floor(this.clock.now() / 1000 / this.bucketSecs);
  }

  /** Moves the window to now: buckets that fell out are dropped, new ones start at 0. */
  private rotate(): void {
    const now = this.currentBucketNo();
    const shift = now - this.bucketNo;
    if (shift <= 0) return;
    this.bucketNo = now;
    if (shift >= this.numBuckets) this.buckets.fill(0);
    else this.buckets = [...new Array<number>(shift).fill(0), ...this.buckets.slice(0, this.numBuckets - shift)];
  }

  delta(n: number): void {
    this.rotate();
    this.buckets[0] = Math.max(0, this.buckets[0]! + n);
  }

  observe(n: number): void {
    this.rotate();
    this.buckets[0] = Math.max(0, n);
  }

  /** Sum of the buckets covering the last `ms` (all of them when omitted). */
  sum(ms?: number): number {
    this.rotate();
    const count = ms === undefined ? this.numBuckets : Math.min(this.numBuckets, Math.ceil(ms / 1000 / this.bucketSecs));
    return this.buckets.slice(0, count).reduce((a, b) => a + b, 0);
  }
}

const SERIES: LuaClass<CounterSeries> = new LuaClass<CounterSeries>({
  name: 'CounterSeries',
  methods: {
    increment: (L) => (SERIES.check(L, 1).delta(Math.max(0, argInteger(L, 2))), 0),
    delta: (L) => (SERIES.check(L, 1).delta(argInteger(L, 2)), 0),
    observe: (L) => (SERIES.check(L, 1).observe(argInteger(L, 2)), 0),
    sum: (L) => (pushNumber(L, SERIES.check(L, 1).sum()), 1),
    sum_over: (L) => {
      const s = SERIES.check(L, 1);
      const raw = lua.lua_type(L, 2) === lua.LUA_TSTRING ? toText(L, 2) : Number(lua.lua_tonumber(L, 2));
      pushNumber(L, s.sum(parseDuration(raw, 'CounterSeries:sum_over')));
      return 1;
    },
  },
});

function readDefinition(L: LuaState): { name: string; numBuckets: number; bucketSecs: number; initial: number } {
  const p = new StructReader(L, 1);
  const name = p.string('name');
  const numBuckets = p.optInteger('num_buckets') ?? p.fail('missing field `num_buckets`');
  if (numBuckets < 1) p.fail('num_buckets must be at least 1');
  const rawSize = p.optDurationInput('bucket_size') ?? p.fail('missing field `bucket_size`');
  let sizeMs: number;
  try {
    sizeMs = parseDuration(rawSize, 'bucket_size');
  } catch (err) {
    return p.fail((err as Error).message);
  }
  const initial = p.optInteger('initial_value') ?? 0;
  return { name, numBuckets, bucketSecs: Math.max(1, Math.ceil(sizeMs / 1000)), initial };
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const byName = new Map<string, CounterSeries>();
  kumo.sub('counter_series').fn('define', (L) => {
    const d = readDefinition(L);
    let series = byName.get(d.name);
    if (!series || series.numBuckets !== d.numBuckets || series.bucketSecs !== d.bucketSecs) {
      series = new CounterSeries(d.numBuckets, d.bucketSecs, d.initial, ctx.clock);
      byName.set(d.name, series);
    }
    SERIES.push(L, series);
    return 1;
  });
}
