/**
 * kumo.api.inject.inject_v1 / build_v1 (lua-api-more.md §3.9, engine.md §8.4):
 * the HTTP injection API called from Lua, through the HTTP listener's own
 * InjectHandler. The caller is 127.0.0.1 with no identities (the local
 * system). inject_v1 returns the HTTP response table; build_v1 returns the
 * built Messages, one per recipient, without policy events, spool or queue.
 */
import os from 'node:os';
import { lua, type LuaState } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { checkTable } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { LOGGING_SLOT } from '../logging/index.ts';
import { InjectHandler, type InjectPeer } from '../server/http/inject.ts';
import { HttpError } from '../server/http/reply.ts';
import { ListenerMetrics } from '../server/metrics/listener-metrics.ts';
import { ListenerPolicy } from '../server/policy-events.ts';
import { LISTENER_METRICS, LISTENER_RECORDS, MESSAGE_INTAKE, SERVER_HEALTH } from '../server/ports.ts';
import type { RecordSink } from '../records/types.ts';
import { toJsonText } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

const LOCAL_PEER: InjectPeer = {
  peerIp: '127.0.0.1',
  localIp: '127.0.0.1',
  hostname: os.hostname(),
  machineHostname: os.hostname(),
  auth: { peer_address: '127.0.0.1', identities: [], groups: [] },
};

function requestBody(L: LuaState): string {
  checkTable(L, 1);
  return toJsonText(toJson(L, 1));
}

/** HTTP status errors become Lua errors carrying the HTTP error text. */
async function asLuaError<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof HttpError) throw new Error(`${what}: ${e.message}`);
    throw e;
  }
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const handler = (what: string, needIntake: boolean): InjectHandler => {
    const records: RecordSink | undefined = ctx.optional(LISTENER_RECORDS) ?? ctx.optional(LOGGING_SLOT);
    return new InjectHandler({
      intake: needIntake ? ctx.require(MESSAGE_INTAKE, what) : (ctx.optional(MESSAGE_INTAKE) as never),
      records: needIntake ? (records ?? ctx.require(LISTENER_RECORDS, what)) : (records as never),
      policy: new ListenerPolicy(ctx.events, pushMessage),
      metrics: ctx.optional(LISTENER_METRICS) ?? new ListenerMetrics(),
      clock: ctx.clock,
      health: ctx.optional(SERVER_HEALTH),
    });
  };

  kumo.sub('api').sub('inject').fns({
    inject_v1: asyncFunction('kumo.api.inject.inject_v1', async (L) => {
      const what = 'kumo.api.inject.inject_v1';
      const body = requestBody(L);
      const response = await asLuaError(what, () => handler(what, true).handle(body, LOCAL_PEER));
      return (Ls: LuaState) => (pushJson(Ls, { ...response }), 1);
    }),
    build_v1: asyncFunction('kumo.api.inject.build_v1', async (L) => {
      const what = 'kumo.api.inject.build_v1';
      const body = requestBody(L);
      const messages = await asLuaError(what, () => handler(what, false).build(body, LOCAL_PEER));
      return (Ls: LuaState) => {
        lua.lua_createtable(Ls, messages.length, 0);
        messages.forEach((m, i) => {
          pushMessage(Ls, m);
          lua.lua_rawseti(Ls, -2, i + 1);
        });
        return 1;
      };
    }),
  });
}
