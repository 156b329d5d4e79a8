/**
 * `kumo-lua.testing.host`: the functions test code uses to drive its
 * environment. lua/kumo-lua/testing.lua wraps these with expectations.
 */
import path from 'node:path';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, checkFunction, isNoneOrNil } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { toJson, pushNumber } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import type { ModuleTable } from '../kumo/module-table.ts';
import type { KumoContext } from '../kumo/context.ts';
import type { VirtualClock } from '../util/clock.ts';
import { parseDurationArg } from './duration-arg.ts';
import { formatDiff, show } from './show.ts';
import type { JsonValue } from '../util/json.ts';

/** What the host functions need from the environment they belong to. */
export interface HostState {
  readonly ctx: KumoContext;
  readonly clock: VirtualClock;
  readonly tests: { name: string; ref: number }[];
  readonly testFile: string;
  start(): Promise<void>;
}

function jsonAt(L: LuaState, i: number): JsonValue | undefined {
  return isNoneOrNil(L, i) ? undefined : toJson(L, i, { keepArrayMarker: true });
}

export function registerHostFunctions(host: ModuleTable, env: HostState): void {
  host.fn('register_test', (L) => {
    const name = argString(L, 1);
    checkFunction(L, 2);
    lua.lua_pushvalue(L, 2);
    lua.lua_xmove(L, env.ctx.runtime.L, 1);
    env.tests.push({ name, ref: env.ctx.runtime.ref() });
    return 0;
  });
  host.fn('diff', (L) => {
    pushText(L, formatDiff(jsonAt(L, 1), jsonAt(L, 2)));
    return 1;
  });
  host.fn('show', (L) => {
    let text: string;
    try {
      text = show(jsonAt(L, 1));
    } catch {
      text = lua.lua_typename(L, lua.lua_type(L, 1));
    }
    pushText(L, text);
    return 1;
  });
  host.fn('policy_path', (L) => {
    pushText(L, path.resolve(path.dirname(env.testFile), argString(L, 1)));
    return 1;
  });
  host.fn(
    'start',
    asyncFunction('t.start', async () => {
      await env.start();
    }),
  );
  host.fn(
    'advance',
    asyncFunction('t.advance', async (L) => {
      const ms = parseDurationArg(L, 1);
      await env.clock.advance(ms);
    }),
  );
  host.fn('now', (L) => {
    pushNumber(L, env.clock.now() / 1000);
    return 1;
  });
}
