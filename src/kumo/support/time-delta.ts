/**
 * TimeDelta userdata (clients.md §8.3): a signed span with nanosecond
 * precision, kept as a BigInt of nanoseconds so arithmetic is exact.
 */
import { lua, type LuaState } from '../../lua/fengari.ts';
import { LuaClass } from '../../lua/userdata.ts';
import { pushNumber } from '../../lua/marshal.ts';
import { pushText } from '../../lua/strings.ts';
import { formatHumantime } from '../../util/duration.ts';

export class TimeDelta {
  constructor(readonly nanos: bigint) {}

  static fromSeconds(seconds: number): TimeDelta {
    const whole = Math.trunc(seconds);
    return new TimeDelta(BigInt(whole) * 1_000_000_000n + BigInt(Math.round((seconds - whole) * 1e9)));
  }

  static fromMillis(ms: number): TimeDelta {
    const whole = Math.trunc(ms);
    return new TimeDelta(BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6)));
  }

  get seconds(): number {
    return Number(this.nanos) / 1e9;
  }

  /** humantime text; chrono refuses negative spans here. */
  human(): string {
    if (this.nanos < 0n) throw new Error('Source duration value is out of range for the target type');
    return formatHumantime(Number(this.nanos / 1_000_000n) + Number(this.nanos % 1_000_000n) / 1e6);
  }
}

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

function pushI64(L: LuaState, v: bigint): number {
  if (v > I64_MAX || v < I64_MIN) lua.lua_pushnil(L);
  else pushNumber(L, Number(v));
  return 1;
}

function other(L: LuaState, idx: number, op: string): TimeDelta {
  const d = TIME_DELTA.test(L, idx);
  if (!d) throw new Error(`TimeDelta ${op}: the other operand must be a TimeDelta`);
  return d;
}

export const TIME_DELTA: LuaClass<TimeDelta> = new LuaClass<TimeDelta>({
  name: 'TimeDelta',
  fields: {
    seconds: (L, d) => {
      lua.lua_pushnumber(L, d.seconds);
      return 1;
    },
    milliseconds: (L, d) => pushI64(L, d.nanos / 1_000_000n),
    microseconds: (L, d) => pushI64(L, d.nanos / 1_000n),
    nanoseconds: (L, d) => pushI64(L, d.nanos),
    human: (L, d) => {
      pushText(L, d.human());
      return 1;
    },
  },
  meta: {
    __tostring: (L) => {
      pushText(L, TIME_DELTA.check(L, 1).human());
      return 1;
    },
    __eq: (L) => {
      const a = TIME_DELTA.test(L, 1);
      const b = TIME_DELTA.test(L, 2);
      lua.lua_pushboolean(L, !!a && !!b && a.nanos === b.nanos);
      return 1;
    },
    __add: (L) => {
      TIME_DELTA.push(L, new TimeDelta(other(L, 1, '+').nanos + other(L, 2, '+').nanos));
      return 1;
    },
    __sub: (L) => {
      TIME_DELTA.push(L, new TimeDelta(other(L, 1, '-').nanos - other(L, 2, '-').nanos));
      return 1;
    },
  },
});
