/**
 * kumo.jsonl (lua-api-more.md §3.12): zstd JSON-lines segments, the format of
 * the local logs (lua-api.md §7.2).
 *
 * * `new_writer{ log_dir, max_file_size = 128 MiB, compression_level = 3,
 *   max_segment_duration?, suffix = '', tz? }` → LogWriter: `write_line(text)`,
 *   `write_record(value)` (JSON as `kumo.serde.json_encode`), `maintain()`,
 *   `close()` (also `__close`; a later write starts a new segment).
 * * `new_tailer({ directory, pattern = '*', max_batch_size = 100,
 *   max_batch_latency = '1s', checkpoint_name?, poll_watcher?, tail = false },
 *   filter?)` and `new_multi_tailer{ directory, pattern?, poll_watcher?, tail?,
 *   consumers = { { name, filter?, max_batch_size?, max_batch_latency?,
 *   checkpoint_name? }, ... } }` → LogTailer: `batches()` (iterator of
 *   LogBatch, ends after `close()`), `close()`.
 * * LogBatch: `records()`, `iter_records()`, `consumer_name()`,
 *   `file_names()`, `commit()`, `#batch`.
 * Engine: support/jsonl-segments.ts.
 */
import { lua, type LuaState, LUA_TFUNCTION, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { argString, checkTable, isNoneOrNil } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { keyBytes, toText } from '../lua/strings.ts';
import { LuaClass } from '../lua/userdata.ts';
import { parseDurationMs } from '../logging/humantime.ts';
import type { JsonValue } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';
import { luaToSerde } from './support/lua-value.ts';
import { writeJson } from './support/json-text.ts';
import { type ConsumerOptions, JsonlWriter, LogBatch, MultiTailer } from './support/jsonl-segments.ts';

/** Anchors the value at `idx` of `L` (any coroutine) in the registry. */
function refAt(L: LuaState, idx: number, ctx: KumoContext): number {
  lua.lua_pushvalue(L, idx);
  lua.lua_xmove(L, ctx.runtime.L, 1);
  return ctx.runtime.ref();
}

/** The fields of the table at `idx` as JSON, each checked against `allowed`; function fields come back as registry refs. */
function readParams(L: LuaState, idx: number, what: string, allowed: readonly string[], ctx: KumoContext, skip: readonly string[] = []): Record<string, JsonValue | { ref: number }> {
  checkTable(L, idx);
  const t = lua.lua_absindex(L, idx);
  const out: Record<string, JsonValue | { ref: number }> = {};
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    const key = lua.lua_type(L, -2) === LUA_TSTRING ? toText(L, -2) : '';
    if (skip.includes(key)) {
      lua.lua_pop(L, 1);
      continue;
    }
    if (!allowed.includes(key)) {
      lua.lua_pop(L, 2);
      throw new Error(`${what}: unknown field \`${key}\`, expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`);
    }
    if (lua.lua_type(L, -1) === LUA_TFUNCTION) {
      out[key] = { ref: refAt(L, -1, ctx) };
    } else out[key] = toJson(L, -1);
    lua.lua_pop(L, 1);
  }
  return out;
}

function str(p: Record<string, unknown>, key: string, what: string, fallback?: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`${what}: \`${key}\` must be a string`);
  return v;
}

function int(p: Record<string, unknown>, key: string, what: string, fallback: number, min = 0): number {
  const v = p[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${what}: \`${key}\` must be an integer >= ${min}`);
  return v;
}

function duration(p: Record<string, unknown>, key: string, what: string): number | undefined {
  const v = p[key];
  return v === undefined || v === null ? undefined : parseDurationMs(`${what}: ${key}`, v);
}

function bool(p: Record<string, unknown>, key: string, what: string): boolean {
  const v = p[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new Error(`${what}: \`${key}\` must be a boolean`);
  return v;
}

function filterOf(ctx: KumoContext, ref: number, label: string): (v: JsonValue) => Promise<boolean> {
  return (value) =>
    ctx.runtime.callRef(label, ref, (co) => (pushJson(co, value, { nullSentinel: true }), 1), (co, n) => n > 0 && lua.lua_toboolean(co, 1));
}

const WRITER_KEYS = ['log_dir', 'max_file_size', 'compression_level', 'max_segment_duration', 'suffix', 'tz'];
const TAILER_KEYS = ['directory', 'pattern', 'max_batch_size', 'max_batch_latency', 'checkpoint_name', 'poll_watcher', 'tail'];
const MULTI_KEYS = ['directory', 'pattern', 'poll_watcher', 'tail', 'consumers'];
const CONSUMER_KEYS = ['name', 'filter', 'max_batch_size', 'max_batch_latency', 'checkpoint_name'];

const DEFAULT_POLL_MS = 250;

function consumerOptions(p: Record<string, unknown>, what: string, name: string, filter: unknown, ctx: KumoContext): ConsumerOptions {
  if (filter !== undefined && !(filter && typeof filter === 'object' && 'ref' in filter)) throw new Error(`${what}: \`filter\` must be a function`);
  return {
    name,
    maxBatchSize: int(p, 'max_batch_size', what, 100, 1),
    maxBatchLatencyMs: duration(p, 'max_batch_latency', what) ?? 1000,
    checkpointName: str(p, 'checkpoint_name', what),
    filter: filter ? filterOf(ctx, (filter as { ref: number }).ref, `${what} filter`) : undefined,
    release: filter ? () => ctx.runtime.unref((filter as { ref: number }).ref) : undefined,
  };
}

function pushRecords(L: LuaState, b: LogBatch): number {
  pushJson(L, (b.committed ? [] : b.records) as JsonValue, { nullSentinel: true });
  return 1;
}

export const LOG_BATCH: LuaClass<LogBatch> = new LuaClass<LogBatch>({
  name: 'LogBatch',
  methods: {
    records: (L) => pushRecords(L, LOG_BATCH.check(L, 1)),
    iter_records: (L) => {
      const b = LOG_BATCH.check(L, 1);
      const records = b.committed ? [] : b.records;
      let i = 0;
      lua.lua_pushcfunction(L, (Li: LuaState) => {
        if (b.committed || i >= records.length) lua.lua_pushnil(Li);
        else pushJson(Li, records[i++]!, { nullSentinel: true });
        return 1;
      });
      return 1;
    },
    consumer_name: (L) => (pushJson(L, LOG_BATCH.check(L, 1).consumer), 1),
    file_names: (L) => (pushJson(L, LOG_BATCH.check(L, 1).files), 1),
    commit: asyncFunction('LogBatch:commit', async (L) => {
      await LOG_BATCH.check(L, 1).commit();
    }),
  },
  meta: { __len: (L) => (lua.lua_pushinteger(L, LOG_BATCH.check(L, 1).committed ? 0 : LOG_BATCH.check(L, 1).records.length), 1) },
});

const nextBatch = asyncFunction('LogTailer:batches', async (L) => {
  const batch = await TAILER.check(L, lua.lua_upvalueindex(1)).nextBatch();
  return (Lr: LuaState) => {
    if (batch) LOG_BATCH.push(Lr, batch);
    else lua.lua_pushnil(Lr);
    return 1;
  };
});

export const TAILER: LuaClass<MultiTailer> = new LuaClass<MultiTailer>({
  name: 'LogTailer',
  methods: {
    batches: (L) => {
      TAILER.check(L, 1);
      lua.lua_pushvalue(L, 1);
      lua.lua_pushcclosure(L, nextBatch, 1);
      return 1;
    },
    close: (L) => (TAILER.check(L, 1).close(), 0),
  },
  meta: { __close: (L) => (TAILER.check(L, 1).close(), 0) },
});

const closeWriter = asyncFunction('LogWriter:close', async (L) => {
  await WRITER.check(L, 1).close();
});

export const WRITER: LuaClass<JsonlWriter> = new LuaClass<JsonlWriter>({
  name: 'LogWriter',
  methods: {
    write_line: asyncFunction('LogWriter:write_line', async (L) => {
      const w = WRITER.check(L, 1);
      await w.writeLine(argString(L, 2));
    }),
    write_record: asyncFunction('LogWriter:write_record', async (L) => {
      const w = WRITER.check(L, 1);
      await w.writeLine(writeJson(luaToSerde(L, 2, { materialize: true }), false));
    }),
    maintain: asyncFunction('LogWriter:maintain', async (L) => {
      await WRITER.check(L, 1).maintain();
    }),
    close: closeWriter,
  },
  meta: { __close: (L) => (WRITER.check(L, 1).closeNow(), 0) },
});

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const jsonl = kumo.sub('jsonl');
  jsonl.fn('new_writer', (L) => {
    const what = 'kumo.jsonl.new_writer';
    const p = readParams(L, 1, what, WRITER_KEYS, ctx);
    const logDir = str(p, 'log_dir', what);
    if (logDir === undefined) throw new Error(`${what}: missing field \`log_dir\``);
    const level = int(p, 'compression_level', what, 3);
    if (level > 21) throw new Error(`${what}: \`compression_level\` must be 0 (zstd default) or 1-21`);
    WRITER.push(L, new JsonlWriter({
      logDir,
      maxFileSize: int(p, 'max_file_size', what, 134_217_728, 1),
      compressionLevel: level,
      maxSegmentMs: duration(p, 'max_segment_duration', what),
      suffix: str(p, 'suffix', what, '')!,
      tz: str(p, 'tz', what),
    }, ctx.clock));
    return 1;
  });

  function tailerBase(p: Record<string, unknown>, what: string) {
    const directory = str(p, 'directory', what);
    if (directory === undefined) throw new Error(`${what}: missing field \`directory\``);
    return { directory, pattern: str(p, 'pattern', what, '*')!, pollMs: duration(p, 'poll_watcher', what) ?? DEFAULT_POLL_MS, tail: bool(p, 'tail', what) };
  }

  jsonl.fn('new_tailer', (L) => {
    const what = 'kumo.jsonl.new_tailer';
    const p = readParams(L, 1, what, TAILER_KEYS, ctx);
    let filter: { ref: number } | undefined;
    if (!isNoneOrNil(L, 2)) {
      if (lua.lua_type(L, 2) !== LUA_TFUNCTION) throw new Error(`${what}: the filter (argument #2) must be a function`);
      filter = { ref: refAt(L, 2, ctx) };
    }
    const consumer = consumerOptions(p, what, str(p, 'checkpoint_name', what, 'default')!, filter, ctx);
    TAILER.push(L, new MultiTailer({ ...tailerBase(p, what), consumers: [consumer] }, ctx.clock));
    return 1;
  });

  jsonl.fn('new_multi_tailer', (L) => {
    const what = 'kumo.jsonl.new_multi_tailer';
    const p = readParams(L, 1, what, MULTI_KEYS, ctx, ['consumers']);
    const consumers: ConsumerOptions[] = [];
    if (lua.lua_getfield(L, 1, keyBytes('consumers')) !== LUA_TTABLE) throw new Error(`${what}: missing field \`consumers\` (a list of consumer tables)`);
    const n = lua.lua_rawlen(L, -1);
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, -1, i);
      const cw = `${what}: consumers[${i}]`;
      const c = readParams(L, -1, cw, CONSUMER_KEYS, ctx);
      const name = str(c, 'name', cw);
      if (name === undefined) throw new Error(`${cw}: missing field \`name\``);
      consumers.push(consumerOptions(c, cw, name, c.filter, ctx));
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    if (consumers.length === 0) throw new Error(`${what}: \`consumers\` is empty`);
    TAILER.push(L, new MultiTailer({ ...tailerBase(p, what), consumers }, ctx.clock));
    return 1;
  });
}
