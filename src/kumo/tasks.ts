/**
 * kumo.spawn_task{ event_name, args } (lua-api-more.md §3.5): runs the
 * handler of `event_name` in the background with one argument, `args`
 * round-tripped through JSON (nulls become the null sentinel). Both fields are
 * required (the code; the docs say `args` is optional); other keys are
 * ignored. Under --validate nothing runs. The handler may loop forever with
 * async calls: it is a detached coroutine of the policy's state.
 */
import { lua } from '../lua/fengari.ts';
import { keyBytes } from '../lua/strings.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import type { JsonValue } from '../util/json.ts';
import { StructReader } from './support/struct-args.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

/** Starts the task; resolves when its handler returns (tests wait on it, Lua never does). */
export async function runTask(ctx: KumoContext, eventName: string, args: JsonValue): Promise<void> {
  // Let the caller's Lua code (usually `init`) carry on first.
  await new Promise((resolve) => setImmediate(resolve));
  if (!ctx.events.has(eventName)) {
    ctx.log.write('error', `spawn_task: ${eventName} has not been registered`);
    return;
  }
  try {
    await ctx.events.fire(eventName, (co) => (pushJson(co, args, { nullSentinel: true }), 1));
  } catch (err) {
    ctx.log.write('error', `spawn_task ${eventName} failed: ${(err as Error).message}`);
  }
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn('spawn_task', (L) => {
    const p = new StructReader(L, 1);
    const eventName = p.string('event_name');
    if (lua.lua_getfield(L, p.idx, keyBytes('args')) === lua.LUA_TNIL) p.fail('missing field `args`');
    const args = toJson(L, -1, { keepArrayMarker: true });
    lua.lua_pop(L, 1);
    if (!Array.isArray(args) && !(typeof args === 'object' && args !== null && Object.keys(args).length === 0)) {
      p.fail('invalid type for `args`: expected a sequence');
    }
    if (ctx.mode.validating) return 0;
    void runTask(ctx, eventName, Array.isArray(args) ? args : []);
    return 0;
  });
}
