/**
 * `kumo-lua.testing.host`: the functions test code uses to drive its
 * environment. lua/kumo-lua/testing.lua wraps these with expectations.
 */
import path from 'node:path';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, checkFunction, isNoneOrNil } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { toJson, pushJson, pushNumber } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import type { ModuleTable } from '../kumo/module-table.ts';
import type { KumoContext } from '../kumo/context.ts';
import type { VirtualClock } from '../util/clock.ts';
import { parseDurationArg } from './duration-arg.ts';
import { formatDiff, show } from './show.ts';
import type { JsonValue } from '../util/json.ts';
import type { MockHttp } from './mocks/http.ts';
import type { MockKafka } from './mocks/kafka.ts';
import type { MockAmqp } from './mocks/amqp.ts';
import type { RecordRecorder } from './record-recorder.ts';
import type { MemoryLog } from '../kumo/diagnostics.ts';
import type { Kumod } from '../daemon/kumod.ts';
import { AmqpClass, EndpointClass, KafkaClass } from './host-mocks.ts';
import { injectMessages, logSyntheticRecord } from './host-actions.ts';
import type { MockMxSet } from './mock-mx-set.ts';
import { MockMxClass, parseMockMxOptions, scriptable } from './mock-mx-class.ts';
import { registerDecisionFunctions } from './host-decisions.ts';

/** What the host functions need from the environment they belong to. */
export interface HostState {
  readonly ctx: KumoContext;
  readonly clock: VirtualClock;
  readonly tests: { name: string; ref: number }[];
  readonly testFile: string;
  readonly http: MockHttp;
  readonly kafka: MockKafka;
  readonly amqp: MockAmqp;
  readonly mxs: MockMxSet;
  readonly recorder: RecordRecorder;
  readonly log: MemoryLog;
  readonly kumod: Kumod;
  /** Raised while the test moves time itself, so automatic advancing waits. */
  manualTime: number;
  start(): Promise<void>;
  runUntilIdle(maxMs: number): Promise<boolean>;
  advanceTime(ms: number): Promise<void>;
  pendingMessages(): Promise<number>;
}

function jsonAt(L: LuaState, i: number): JsonValue | undefined {
  return isNoneOrNil(L, i) ? undefined : toJson(L, i, { keepArrayMarker: true });
}

/**
 * Runs host work during which virtual time must not jump on its own: the
 * test is busy (injecting, starting, moving time itself), not waiting.
 */
async function withManualTime<T>(env: HostState, work: () => Promise<T>): Promise<T> {
  env.manualTime++;
  try {
    return await work();
  } finally {
    env.manualTime--;
  }
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
      await withManualTime(env, () => env.start());
    }),
  );
  host.fn(
    'advance',
    asyncFunction('t.advance', async (L) => {
      const ms = parseDurationArg(L, 1);
      await withManualTime(env, () => env.advanceTime(ms));
    }),
  );
  host.fn('now', (L) => {
    pushNumber(L, env.clock.now() / 1000);
    return 1;
  });
  host.fn('http', (L) => (EndpointClass.push(L, env.http.endpoint(argString(L, 1))), 1));
  host.fn('kafka', (L) => (KafkaClass.push(L, env.kafka), 1));
  host.fn(
    'smtp',
    asyncFunction('t.smtp', async (L) => {
      const name = argString(L, 1);
      const options = parseMockMxOptions(jsonAt(L, 2));
      const mx = scriptable(await env.mxs.add(name, options));
      return (Lr) => (MockMxClass.push(Lr, mx), 1);
    }),
  );
  host.fn('amqp', (L) => (AmqpClass.push(L, env.amqp), 1));
  host.fn(
    'inject',
    asyncFunction('t.inject', async (L) => {
      const request = jsonAt(L, 1);
      const response = await withManualTime(env, async () => {
        await env.start();
        return injectMessages(env, request);
      });
      return (Lr) => (pushJson(Lr, response), 1);
    }),
  );
  host.fn(
    'log_record',
    asyncFunction('t.log_record', async (L) => {
      const spec = jsonAt(L, 1);
      const id = await withManualTime(env, async () => {
        await env.start();
        return logSyntheticRecord(env, spec);
      });
      return (Lr) => (pushText(Lr, id), 1);
    }),
  );
  host.fn('records', (L) => {
    const type = isNoneOrNil(L, 1) ? undefined : argString(L, 1);
    pushJson(L, env.recorder.ofType(type));
    return 1;
  });
  host.fn('logs', (L) => {
    pushJson(L, env.log.lines.map((l) => ({ level: l.level, message: l.message })));
    return 1;
  });
  host.fn(
    'run_until_idle',
    asyncFunction('t.run_until_idle', async (L) => {
      const maxMs = isNoneOrNil(L, 1) ? 7 * 24 * 3600_000 : parseDurationArg(L, 1);
      const idle = await withManualTime(env, () => env.runUntilIdle(maxMs));
      return (Lr) => (lua.lua_pushboolean(Lr, idle), 1);
    }),
  );
  host.fn(
    'pending',
    asyncFunction('t.pending', async () => {
      const n = await env.pendingMessages();
      return (Lr) => (lua.lua_pushinteger(Lr, n), 1);
    }),
  );
  host.fn(
    'settle',
    asyncFunction('t.settle', async () => {
      await env.clock.advance(0);
    }),
  );
  registerDecisionFunctions(host, env);
}
