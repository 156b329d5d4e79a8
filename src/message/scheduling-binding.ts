/**
 * msg:set_scheduling and msg:import_scheduling_header (lua-api-more.md §7.1):
 * the header form carries the same table as JSON, so both end in
 * `applyScheduling`.
 */
import { lua, type LuaCFunction, type LuaState, LUA_TBOOLEAN } from '../lua/fengari.ts';
import { argBoolean, argString, isNoneOrNil, typeNameOrNone } from '../lua/args.ts';
import { LUA_NULL, pushJson, toJson } from '../lua/marshal.ts';
import type { LuaReturn } from '../lua/host-function.ts';
import type { JsonValue } from '../util/json.ts';
import type { Message, Scheduling } from './message.ts';
import type { MethodMaker } from './lua-binding.ts';
import { effectiveDue, parseScheduling, schedulingJson, SchedulingError } from './scheduling.ts';
import { decodedValuesNamed } from './header-codec.ts';
import { withoutHeaders } from './headers.ts';
import { messageClockNow } from './lua-context.ts';

/** Stores the scheduling, moves the due time into it, returns what Lua gets back. */
function applyScheduling(msg: Message, sched: Scheduling | null, nowMs: number): LuaReturn {
  msg.scheduling = sched;
  msg.metaDirty = true;
  msg.due = effectiveDue(msg.due, sched, nowMs);
  return (L: LuaState) => {
    if (sched === null) lua.lua_pushlightuserdata(L, LUA_NULL);
    else pushJson(L, schedulingJson(sched), { nullSentinel: true, arrayMarker: false });
    return 1;
  };
}

const nullSentinel: LuaReturn = (L) => (lua.lua_pushlightuserdata(L, LUA_NULL), 1);

function parseSchedulingHeader(name: string, text: string): Scheduling {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new SchedulingError(`import_scheduling_header: header ${name} is not valid JSON (${(err as Error).message}): ${text}`);
  }
  try {
    return parseScheduling(json);
  } catch (err) {
    throw new SchedulingError(`import_scheduling_header: header ${name}: ${(err as Error).message}`);
  }
}

export function schedulingMethods(method: MethodMaker): Record<string, LuaCFunction> {
  return {
    set_scheduling: method('set_scheduling', (L, msg) => {
      const sched = isNoneOrNil(L, 2) ? null : parseScheduling(toJson(L, 2));
      const now = messageClockNow(L);
      return () => applyScheduling(msg, sched, now);
    }),
    import_scheduling_header: method('import_scheduling_header', (L, msg) => {
      const name = argString(L, 2);
      if (lua.lua_type(L, 3) !== LUA_TBOOLEAN) throw new Error(`import_scheduling_header: remove must be a boolean, got ${typeNameOrNone(L, 3)}`);
      const remove = argBoolean(L, 3);
      const now = messageClockNow(L);
      return () => {
        const value = decodedValuesNamed(msg.getData(), name)[0];
        if (value === undefined) return nullSentinel;
        const sched = parseSchedulingHeader(name, value);
        if (remove) {
          const lower = name.toLowerCase();
          const data = withoutHeaders(msg.getData(), (h) => h.name.toLowerCase() === lower);
          if (data !== undefined) msg.setData(data);
        }
        return applyScheduling(msg, sched, now);
      };
    }),
  };
}
