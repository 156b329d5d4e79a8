/**
 * kumo.make_throttle(name, spec) (lua-api-more §3.4): a process-local GCRA
 * throttle. It reuses the engine's Throttles (src/queue/throttle.ts) with its
 * own instance per clock, keyed `lua-user-throttle-<name>` + the spec's
 * figures, so equal name and spec share state and policy throttles never
 * collide with engine keys.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { argString } from '../lua/args.ts';
import { LuaClass } from '../lua/userdata.ts';
import { LUA_NULL, pushJson } from '../lua/marshal.ts';
import { keyBytes, pushText } from '../lua/strings.ts';
import { parseThrottleSpec, Throttles, type ThrottleDecision, type ThrottleSpec } from '../queue/throttle.ts';
import { checkMessage } from '../message/lua-binding.ts';
import { effectiveDue } from '../message/scheduling.ts';
import type { Clock } from '../util/clock.ts';
import type { JsonValue } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

/** One state table per clock: process-wide in the daemon, separate per virtual clock in tests. */
const userThrottles = new WeakMap<Clock, Throttles>();

interface LuaThrottle {
  key: string;
  spec: ThrottleSpec;
  clock: Clock;
  state: Throttles;
}

/** Rust Duration as serde writes it. */
const duration = (ms: number): JsonValue => ({ secs: Math.floor(ms / 1000), nanos: 0 });

function pushDecision(L: LuaState, d: ThrottleDecision): void {
  pushJson(L, { throttled: d.throttled, limit: d.limit, remaining: d.remaining, reset_after: duration(d.resetAfterMs) });
  // Allowed: the null sentinel, not nil (KumoMTA's code; its docs say nil).
  if (d.retryAfterMs === null) lua.lua_pushlightuserdata(L, LUA_NULL);
  else pushJson(L, duration(d.retryAfterMs));
  lua.lua_setfield(L, -2, keyBytes('retry_after'));
}

const PERIOD_NAMES: Record<number, string> = { 1000: 'second', 60_000: 'minute', 3_600_000: 'hour', 86_400_000: 'day' };

function explain(spec: ThrottleSpec): string {
  const period = PERIOD_NAMES[spec.periodMs] ?? `${spec.periodMs / 1000} seconds`;
  const burst = spec.maxBurst === spec.limit ? '' : ` with bursts of up to ${spec.maxBurst}`;
  return `${spec.limit} per ${period}${burst}${spec.local ? ' (process-local)' : ''}`;
}

const evaluate = (t: LuaThrottle): ThrottleDecision => t.state.evaluate(t.key, t.spec);

const ThrottleClass: LuaClass<LuaThrottle> = new LuaClass<LuaThrottle>({
  name: 'Throttle',
  methods: {
    throttle: asyncFunction('Throttle:throttle', async (L) => {
      const decision = evaluate(ThrottleClass.check(L, 1));
      return (Ls) => {
        pushDecision(Ls, decision);
        return 1;
      };
    }),
    sleep_if_throttled: asyncFunction('Throttle:sleep_if_throttled', async (L): Promise<LuaReturn> => {
      const t = ThrottleClass.check(L, 1);
      let waited = false;
      for (;;) {
        const d = evaluate(t);
        if (!d.throttled) break;
        waited = true;
        await t.clock.sleep(d.retryAfterMs!);
      }
      return (Ls) => {
        lua.lua_pushboolean(Ls, waited);
        return 1;
      };
    }),
    delay_message_if_throttled: asyncFunction('Throttle:delay_message_if_throttled', async (L): Promise<LuaReturn> => {
      const t = ThrottleClass.check(L, 1);
      const msg = checkMessage(L, 2);
      const d = evaluate(t);
      if (d.throttled) {
        const now = t.clock.now();
        // As msg:set_due: scheduling windows apply, no jitter.
        msg.due = effectiveDue(now + d.retryAfterMs!, msg.scheduling, now);
      }
      return (Ls) => {
        lua.lua_pushboolean(Ls, d.throttled);
        return 1;
      };
    }),
    explain: (L) => {
      pushText(L, explain(ThrottleClass.check(L, 1).spec));
      return 1;
    },
  },
});

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn('make_throttle', (L) => {
    const name = argString(L, 1);
    const specText = argString(L, 2);
    const spec = parseThrottleSpec(specText);
    let state = userThrottles.get(ctx.clock);
    if (!state) {
      state = new Throttles(ctx.clock);
      userThrottles.set(ctx.clock, state);
    }
    ThrottleClass.push(L, { key: `lua-user-throttle-${name}`, spec, clock: ctx.clock, state });
    return 1;
  });
}
