/**
 * What crosses the thread boundary between the main thread and a Lua worker
 * state (src/pool): message snapshots, JSON values with their integer/float
 * distinction, errors, and the protocol messages themselves. Everything here
 * is structured-clone safe: class instances (JsonFloat, Rejection, LuaError)
 * are flattened on one side and rebuilt on the other.
 */
import { JsonFloat, type JsonObject, type JsonValue } from '../util/json.ts';
import { Message, type Scheduling } from '../message/message.ts';
import { LuaError } from '../lua/errors.ts';
import { Rejection, asRejection, type DisconnectMode } from '../kumo/reject.ts';
import type { SendOutcome } from '../delivery/types.ts';

/** A JSON value whose integral floats are boxed as `{ [FLOAT]: n }` (structured clone drops JsonFloat's class). */
export type WireJson = unknown;
const FLOAT = '\u0000kumo-lua.float';

export function toWire(v: JsonValue): WireJson {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof JsonFloat) return { [FLOAT]: v.value };
  if (Array.isArray(v)) return v.map(toWire);
  const out: Record<string, WireJson> = {};
  for (const k in v) out[k] = toWire(v[k]!);
  return out;
}

/** True when a JsonFloat (or another class instance structured clone would flatten) is inside `v`. */
export function needsBoxing(v: JsonValue): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const item of v) if (needsBoxing(item)) return true;
    return false;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return true;
  const o = v as JsonObject;
  for (const k in o) if (needsBoxing(o[k]!)) return true;
  return false;
}

export function fromWire(v: WireJson): JsonValue {
  if (v === null || typeof v !== 'object') return v as JsonValue;
  if (Array.isArray(v)) return v.map(fromWire);
  const o = v as Record<string, WireJson>;
  if (FLOAT in o) return new JsonFloat(o[FLOAT] as number);
  const out: JsonObject = {};
  for (const k in o) out[k] = fromWire(o[k]);
  return out;
}

/**
 * A message as a worker state sees it: the engine keeps the real Message; the
 * worker's Message userdata wraps a copy built from this. Meta changes made by
 * Lua travel back with the outcome (see MetaChange) and are applied to the real
 * message before the engine acts on the outcome, so a re-queued message keeps
 * them, as in KumoMTA. Data and envelope changes are not carried back.
 */
export interface MessageSnapshot {
  id: string;
  sender: string;
  recipients: string[];
  /** The meta object itself when it holds no JsonFloat (structured clone copies it as is), else toWire's form. */
  meta: WireJson;
  metaBoxed: boolean;
  data: Uint8Array;
  due: number | null;
  numAttempts: number;
  scheduling: Scheduling | null;
}

export function snapshotOf(msg: Message): MessageSnapshot {
  const meta = msg.metaObject();
  const metaBoxed = needsBoxing(meta);
  return {
    id: msg.id,
    sender: msg.sender,
    recipients: msg.recipients,
    meta: metaBoxed ? toWire(meta) : meta,
    metaBoxed,
    data: msg.getData(),
    due: msg.due,
    numAttempts: msg.numAttempts,
    scheduling: msg.scheduling,
  };
}

export function messageFromSnapshot(s: MessageSnapshot): Message {
  const msg = new Message({
    id: s.id,
    sender: s.sender,
    recipients: s.recipients,
    meta: (s.metaBoxed ? fromWire(s.meta) : s.meta) as JsonObject,
    data: s.data,
    due: s.due,
    numAttempts: s.numAttempts,
    scheduling: s.scheduling,
  });
  // Only what Lua changes from here on is carried back.
  msg.metaDirty = false;
  msg.dataDirty = false;
  return msg;
}

/** What Lua changed in the meta of a message (index into the batch): keys set (new values) and keys removed. */
export interface MetaChange {
  index: number;
  set: WireJson;
  removed: string[];
}

/** A message built from a snapshot, with what its meta held before Lua ran (to send back only the changes). */
export interface SnapshotMessage {
  msg: Message;
  before: JsonObject;
}

export function openSnapshot(s: MessageSnapshot): SnapshotMessage {
  const msg = messageFromSnapshot(s);
  return { msg, before: { ...msg.metaObject() } };
}

/**
 * The keys whose value Lua replaced (set_meta stores a new value; untouched
 * keys keep the very object they had) or removed; null when nothing changed.
 */
export function metaChangeOf(index: number, { msg, before }: SnapshotMessage): MetaChange | null {
  if (!msg.metaDirty) return null;
  const now = msg.metaObject();
  const set: JsonObject = {};
  let any = false;
  for (const key of Object.keys(now)) {
    if (now[key] !== before[key]) {
      set[key] = now[key]!;
      any = true;
    }
  }
  const removed = Object.keys(before).filter((key) => !(key in now));
  if (!any && removed.length === 0) return null;
  return { index, set: toWire(set), removed };
}

/** Applies a worker's meta changes to the engine's messages. */
export function applyMetaChanges(batch: readonly Message[], changes: readonly MetaChange[]): void {
  for (const { index, set, removed } of changes) {
    const msg = batch[index];
    if (!msg) continue;
    const meta = msg.metaObject();
    for (const key of removed) delete meta[key];
    const values = fromWire(set) as JsonObject;
    for (const key of Object.keys(values)) msg.setMeta(key, values[key]);
    msg.metaDirty = true;
  }
}

/** An error as it crosses: a LuaError keeps its traceback, a kumo.reject its code and text. */
export interface WireError {
  message: string;
  /** Present for Lua errors. */
  traceback?: string;
  rejection?: { code: number; text: string; mode: DisconnectMode };
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof LuaError) {
    const r = asRejection(e.payload);
    return { message: e.message, traceback: e.luaTraceback, ...(r ? { rejection: { code: r.code, text: r.text, mode: r.mode } } : {}) };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

export function errorFromWire(w: WireError): Error {
  if (w.traceback === undefined) return new Error(w.message);
  const payload = w.rejection ? new Rejection(w.rejection.code, w.rejection.text, w.rejection.mode) : undefined;
  return new LuaError(w.message, w.traceback, payload);
}

// ------------------------------------------------------------------ protocol

/** The routed call of kumo.inject_message from a worker: [snapshot, deferredSpool]. */
export const INJECT_CALL = '@inject';
/** timer:done() in a worker: [label, seconds] for the main thread's user_lua_latency histogram. */
export const LATENCY_CALL = '@latency';

export interface WorkerInit {
  index: number;
  policyFile: string;
  luaPaths: string[];
  cpuLimitMs?: number;
  nodeId: string;
}

/** Main thread → worker. */
export type ToWorker =
  | { t: 'connect'; id: number; name: string; domain: string; tenant: string | null; campaign: string | null; batchSize: number }
  | { t: 'send'; id: number; conn: number; messages: MessageSnapshot[] }
  | { t: 'close'; id: number; conn: number }
  /** An event whose first argument is a message and whose answer is a boolean (should_enqueue_log_record). */
  | { t: 'message-event'; id: number; name: string; message: MessageSnapshot; args: string[] }
  | { t: 'rpc-reply'; id: number; ok: true; values: WireJson[] }
  | { t: 'rpc-reply'; id: number; ok: false; error: string }
  | { t: 'shutdown' };

export interface MessageEventReply {
  value: boolean;
  metaChanges: MetaChange[];
}

export interface SendReply {
  outcome: SendOutcome;
  metaChanges: MetaChange[];
}

/** Worker → main thread. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'load-failed'; error: WireError }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: WireError }
  | { t: 'rpc'; id: number; fn: string; args: WireJson[] }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; text: string }
  | { t: 'print'; line: string }
  | { t: 'cpu-stop'; message: string }
  | { t: 'closed' };
