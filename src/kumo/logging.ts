/**
 * kumo.configure_local_logs, kumo.configure_log_hook and
 * kumo.configure_log_disposition_hook (lua-api.md §5–§7): the Lua table is
 * converted to plain values and validated by src/logging. Also the glue that
 * lets the logging layer fire filter_event, should_enqueue_log_record and
 * log_disposition_<name> in this Lua state.
 */
import { checkTable } from '../lua/args.ts';
import type { LuaState } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import { LOGGING_SLOT, type LoggingCallbacks } from '../logging/index.ts';
import type { Message } from '../message/message.ts';
import { recordAsJson } from '../records/log-record.ts';
import { JsonFloat, type JsonValue } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

/** Option tables hold counts and sizes; a Lua float such as 1e9 is accepted as the integer it denotes. */
function plainOptions(v: JsonValue): unknown {
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(plainOptions);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainOptions(x);
    return out;
  }
  return v;
}

function readOptions(L: LuaState): unknown {
  checkTable(L, 1);
  return plainOptions(toJson(L, 1, { keepArrayMarker: true }));
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn(
    'configure_local_logs',
    asyncFunction('kumo.configure_local_logs', async (L) => {
      const params = readOptions(L);
      await ctx.require(LOGGING_SLOT, 'kumo.configure_local_logs').configureLocalLogs(params);
    }),
  );
  kumo.fn(
    'configure_log_hook',
    asyncFunction('kumo.configure_log_hook', async (L) => {
      const params = readOptions(L);
      ctx.require(LOGGING_SLOT, 'kumo.configure_log_hook').configureLogHook(params);
    }),
  );
  kumo.fn(
    'configure_log_disposition_hook',
    asyncFunction('kumo.configure_log_disposition_hook', async (L) => {
      const params = readOptions(L);
      ctx.require(LOGGING_SLOT, 'kumo.configure_log_disposition_hook').configureLogDispositionHook(params);
    }),
  );
}

/** Pushes a Message as the Lua `msg` userdata (provided by the message binding). */
export type PushMessage = (L: LuaState, msg: Message) => void;

/**
 * The logging callbacks that run policy events, for the composition root:
 * `logging.setCallbacks({ ...luaLoggingCallbacks(ctx, pushMessage), enqueue })`.
 */
export function luaLoggingCallbacks(ctx: KumoContext, pushMessage: PushMessage): Pick<LoggingCallbacks, 'filterEvent' | 'shouldEnqueue' | 'disposition'> {
  return {
    filterEvent: (eventName, msg) =>
      ctx.events.fireBoolean(eventName, (co) => {
        pushMessage(co, msg);
        return 1;
      }),
    shouldEnqueue: (msg, hookName) =>
      ctx.events.fireBoolean('should_enqueue_log_record', (co) => {
        pushMessage(co, msg);
        pushText(co, hookName);
        return 2;
      }),
    // Disposition hooks see the record as mlua's default conversion makes it: nulls are the null sentinel.
    disposition: (hookName, msg, record) =>
      ctx.events.fire(`log_disposition_${hookName}`, (co) => {
        pushMessage(co, msg);
        pushJson(co, recordAsJson(record), { arrayMarker: true, nullSentinel: true });
        return 2;
      }),
  };
}
