/**
 * kumo.time and kumo.sleep (clients.md §8, lua-api.md §13.6). Time is a UTC
 * instant with nanoseconds; now() and sleep() use ctx.clock so tests can run
 * on a VirtualClock.
 */
import { lua, type LuaState, LUA_TNUMBER, LUA_TSTRING } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argInteger, argNumber, argString } from '../lua/args.ts';
import { pushNumber } from '../lua/marshal.ts';
import { decodeUtf8Strict, pushText, toBytes } from '../lua/strings.ts';
import { parseHumantime } from '../util/duration.ts';
import type { Clock } from '../util/clock.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';
import { MAX_SECS, civil, formatDisplay, formatRfc2822, formatRfc3339, strftime, type Instant } from './support/chrono-format.ts';
import { parseRfc2822, parseRfc3339 } from './support/chrono-parse.ts';
import { TIME_DELTA, TimeDelta } from './support/time-delta.ts';

/** Where timer:done() records `user_lua_latency{label}`; provided by the metrics layer. */
export interface LuaLatencyObserver {
  observe(label: string, seconds: number): void;
}
export const LUA_LATENCY = new ServiceSlot<LuaLatencyObserver>('the user_lua_latency histogram');

const NS_PER_SEC = 1_000_000_000n;

export class Time implements Instant {
  constructor(
    readonly secs: number,
    readonly nanos: number,
    /** The clock `elapsed` is measured against (the context's). */
    readonly clock: Clock,
  ) {}

  static fromTotalNanos(total: bigint, clock: Clock): Time {
    let secs = total / NS_PER_SEC;
    let nanos = total % NS_PER_SEC;
    if (nanos < 0n) {
      nanos += NS_PER_SEC;
      secs -= 1n;
    }
    if (secs > BigInt(MAX_SECS) || secs < -BigInt(MAX_SECS)) throw new Error('time would overflow');
    return new Time(Number(secs), Number(nanos), clock);
  }

  static fromMillis(ms: number, clock: Clock): Time {
    const secs = Math.floor(ms / 1000);
    return new Time(secs, Math.round((ms - secs * 1000) * 1e6), clock);
  }

  get totalNanos(): bigint {
    return BigInt(this.secs) * NS_PER_SEC + BigInt(this.nanos);
  }
}

function pushTime(L: LuaState, t: Time): number {
  TIME.push(L, t);
  return 1;
}

function field(get: (t: Time) => number | string) {
  return (L: LuaState, t: Time): number => {
    const v = get(t);
    if (typeof v === 'string') pushText(L, v);
    else pushNumber(L, v);
    return 1;
  };
}

export const TIME: LuaClass<Time> = new LuaClass<Time>({
  name: 'Time',
  methods: {
    format: (L) => {
      const t = TIME.check(L, 1);
      pushText(L, strftime(t, argString(L, 2)));
      return 1;
    },
  },
  fields: {
    year: field((t) => civil(t).year),
    month: field((t) => civil(t).month),
    day: field((t) => civil(t).day),
    hour: field((t) => civil(t).hour),
    minute: field((t) => civil(t).minute),
    second: field((t) => civil(t).second),
    unix_timestamp: field((t) => t.secs),
    unix_timestamp_millis: field((t) => t.secs * 1000 + Math.floor(t.nanos / 1e6)),
    rfc2822: field(formatRfc2822),
    rfc3339: field(formatRfc3339),
    elapsed: (L, t) => {
      TIME_DELTA.push(L, new TimeDelta(Time.fromMillis(t.clock.now(), t.clock).totalNanos - t.totalNanos));
      return 1;
    },
  },
  meta: {
    __tostring: (L) => {
      pushText(L, formatDisplay(TIME.check(L, 1)));
      return 1;
    },
    __eq: (L) => {
      const a = TIME.test(L, 1);
      const b = TIME.test(L, 2);
      lua.lua_pushboolean(L, !!a && !!b && a.secs === b.secs && a.nanos === b.nanos);
      return 1;
    },
    __add: (L) => {
      const t = TIME.test(L, 1);
      const d = TIME_DELTA.test(L, 2);
      if (!t || !d) throw new Error('Time + x: only Time + TimeDelta is supported');
      return pushTime(L, Time.fromTotalNanos(t.totalNanos + d.nanos, t.clock));
    },
    __sub: (L) => {
      const t = TIME.test(L, 1);
      if (!t) throw new Error('x - Time: only Time - Time and Time - TimeDelta are supported');
      const other = TIME.test(L, 2);
      if (other) {
        TIME_DELTA.push(L, new TimeDelta(t.totalNanos - other.totalNanos));
        return 1;
      }
      const d = TIME_DELTA.test(L, 2);
      if (!d) throw new Error('Time - x: only Time - Time and Time - TimeDelta are supported');
      return pushTime(L, Time.fromTotalNanos(t.totalNanos - d.nanos, t.clock));
    },
  },
});

function fromUnixTimestamp(L: LuaState, clock: Clock): number {
  if (lua.lua_type(L, 1) !== LUA_TNUMBER) throw new Error('timestamp must be either an integer or floating point number of seconds');
  let secs: number;
  let nanos = 0;
  if (lua.lua_isinteger(L, 1)) secs = lua.lua_tointeger(L, 1) as number;
  else {
    const n = lua.lua_tonumber(L, 1) as number;
    if (!Number.isFinite(n)) throw new Error('invalid timestamp');
    secs = Math.trunc(n);
    // KumoMTA truncates the fraction to u32 nanoseconds, so a negative fraction becomes 0.
    nanos = Math.max(0, Math.trunc((n - secs) * 1e9));
  }
  if (Math.abs(secs) > MAX_SECS) throw new Error('invalid timestamp');
  return pushTime(L, new Time(secs, nanos, clock));
}

function withYmdHms(L: LuaState, clock: Clock): number {
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => argInteger(L, i)) as [number, number, number, number, number, number];
  const gap = () => new Error('time cannot be represented due to a gap in local time');
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) throw gap();
  const date = new Date(Date.UTC(2000, mo - 1, d));
  date.setUTCFullYear(y);
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) throw gap();
  return pushTime(L, new Time(date.getTime() / 1000 + h * 3600 + mi * 60 + s, 0, clock));
}

function parseDuration(L: LuaState): number {
  const t = lua.lua_type(L, 1);
  let delta: TimeDelta;
  if (t === LUA_TNUMBER && lua.lua_isinteger(L, 1)) {
    delta = new TimeDelta(BigInt(lua.lua_tointeger(L, 1) as number) * NS_PER_SEC);
  } else if (t === LUA_TNUMBER) {
    const n = lua.lua_tonumber(L, 1) as number;
    if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`invalid duration: ${n} seconds (must be finite and not negative)`);
    delta = TimeDelta.fromSeconds(n);
  } else if (t === LUA_TSTRING) {
    const text = decodeUtf8Strict(toBytes(L, 1));
    if (text === undefined) throw new Error('invalid duration value');
    delta = TimeDelta.fromMillis(parseHumantime(text));
  } else {
    throw new Error('invalid duration value');
  }
  TIME_DELTA.push(L, delta);
  return 1;
}

class Timer {
  private finished = false;
  constructor(
    readonly label: string,
    private readonly startedMs: number,
  ) {}
  /** Elapsed seconds the first time, undefined afterwards. */
  done(nowMs: number, observer: LuaLatencyObserver | undefined): number | undefined {
    if (this.finished) return undefined;
    this.finished = true;
    const seconds = (nowMs - this.startedMs) / 1000;
    observer?.observe(this.label, seconds);
    return seconds;
  }
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const clock = ctx.clock;
  const timerDone = (L: LuaState): number => {
    const secs = TIMER.check(L, 1).done(ctx.clock.now(), ctx.optional(LUA_LATENCY));
    if (secs === undefined) lua.lua_pushnil(L);
    else lua.lua_pushnumber(L, secs);
    return 1;
  };
  const TIMER = new LuaClass<Timer>({ name: 'Timer', methods: { done: timerDone }, meta: { __close: timerDone } });

  const time = kumo.sub('time');
  time.fns({
    now: (L) => pushTime(L, Time.fromMillis(clock.now(), clock)),
    from_unix_timestamp: (L) => fromUnixTimestamp(L, clock),
    with_ymd_hms: (L) => withYmdHms(L, clock),
    parse_rfc3339: (L) => pushTime(L, asTime(parseRfc3339(argString(L, 1)), clock)),
    parse_rfc2822: (L) => pushTime(L, asTime(parseRfc2822(argString(L, 1)), clock)),
    parse_duration: parseDuration,
    start_timer: (L) => {
      TIMER.push(L, new Timer(argString(L, 1), ctx.clock.now()));
      return 1;
    },
    sleep: asyncFunction('kumo.time.sleep', async (L) => {
      const seconds = argNumber(L, 1);
      if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new Error(`kumo.time.sleep: invalid duration ${seconds} (must be finite and not negative)`);
      await ctx.clock.sleep(seconds * 1000, ctx.runtime.shutdownSignal);
    }),
  });
  kumo.alias('sleep', time, 'sleep');
}

function asTime(i: Instant, clock: Clock): Time {
  return new Time(i.secs, i.nanos, clock);
}
