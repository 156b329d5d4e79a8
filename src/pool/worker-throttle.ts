/**
 * kumo.make_throttle in a worker state. Throttle state is shared by the whole
 * process in KumoMTA's sense (equal name and spec share one GCRA state), so a
 * worker's throttle object forwards `throttle`, `sleep_if_throttled` and
 * `explain` to the main state, which runs the same method on its own
 * kumo.make_throttle(name, spec) (a sleep then waits there, costing the worker
 * nothing). `delay_message_if_throttled` would change the due time of the
 * worker's copy of a message, which is not carried back: it raises.
 */
import { lua, lauxlib, to_luastring, type LuaState, LUA_OK } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argString } from '../lua/args.ts';
import { pushJson } from '../lua/marshal.ts';
import { toText } from '../lua/strings.ts';
import { parseThrottleSpec } from '../queue/throttle.ts';
import { fromWire, type WireJson } from './wire.ts';
import type { RoutedCall } from './worker-surface.ts';

export const THROTTLE_CALL = '@throttle';

/** Run on the main state by LuaPool.routed: (name, spec, method) → the method's results. */
export const MAIN_THROTTLE_CHUNK = `
local kumo = require 'kumo'
return function(name, spec, method)
  local t = kumo.make_throttle(name, spec)
  return t[method](t)
end`;

const WRAPPER = `
local name, spec, call, unavailable = ...
local T = {}
T.__index = T
T.__name = 'Throttle'
function T:throttle() return call(name, spec, 'throttle') end
function T:sleep_if_throttled() return call(name, spec, 'sleep_if_throttled') end
function T:explain() return call(name, spec, 'explain') end
function T:delay_message_if_throttled() return unavailable() end
return setmetatable({}, T)
`;

export function workerMakeThrottle(call: RoutedCall, unavailableMessage: (name: string) => string): (L: LuaState) => number {
  const forward = asyncFunction('Throttle method', async (L) => {
    const args: WireJson[] = [toText(L, 1), toText(L, 2), toText(L, 3)];
    const values = await call(THROTTLE_CALL, args);
    return (Lr: LuaState) => {
      // retry_after of an allowed decision is the null sentinel, as on the main state.
      for (const v of values) pushJson(Lr, fromWire(v), { nullSentinel: true });
      return values.length;
    };
  });
  const unavailable = (): number => {
    throw new Error(
      `${unavailableMessage('Throttle:delay_message_if_throttled')} (it would change the due time of the worker's copy of the message, which is not carried back)`,
    );
  };
  return (L) => {
    const name = argString(L, 1);
    const spec = argString(L, 2);
    parseThrottleSpec(spec); // a bad spec fails here, at the call site
    if (lauxlib.luaL_loadbuffer(L, to_luastring(WRAPPER), null, to_luastring('=kumo.make_throttle')) !== LUA_OK) {
      throw new Error(`kumo.make_throttle: internal wrapper failed to load: ${toText(L, -1)}`);
    }
    lua.lua_pushvalue(L, 1);
    lua.lua_pushvalue(L, 2);
    lua.lua_pushcfunction(L, forward);
    lua.lua_pushcfunction(L, unavailable);
    lua.lua_call(L, 4, 1);
    return 1;
  };
}
