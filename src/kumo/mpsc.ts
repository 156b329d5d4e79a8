/**
 * kumo.mpsc (lua-api-more.md §3.12): process-wide named queues (the first
 * definition of a name wins), optionally bounded; values travel as JSON
 * copies. Senders of a full bounded queue wait; `recv` waits for a value and
 * returns nil once the queue is closed and drained.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { argNumber, argString, optInteger } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { LuaClass } from '../lua/userdata.ts';
import type { Clock } from '../util/clock.ts';
import type { JsonValue } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

type Waiter = () => void;

export class NamedQueue {
  private readonly items: JsonValue[] = [];
  private readonly receivers: Waiter[] = [];
  private readonly senders: Waiter[] = [];
  closed = false;

  constructor(readonly name: string, readonly limit: number | null) {}

  get length(): number {
    return this.items.length;
  }

  private wake(list: Waiter[]): void {
    list.shift()?.();
  }

  trySend(v: JsonValue): boolean {
    if (this.closed) throw new Error(`mpsc queue ${this.name} is closed`);
    if (this.limit !== null && this.items.length >= this.limit) return false;
    this.items.push(v);
    this.wake(this.receivers);
    return true;
  }

  /** Waits for room; false when `deadline` passed first. */
  async send(v: JsonValue, clock: Clock, timeoutMs?: number): Promise<boolean> {
    const start = clock.now();
    while (!this.trySend(v)) {
      const left = timeoutMs === undefined ? undefined : start + timeoutMs - clock.now();
      if (left !== undefined && left <= 0) return false;
      await this.wait(this.senders, clock, left);
    }
    return true;
  }

  tryRecv(): JsonValue | undefined {
    if (this.items.length === 0) return undefined;
    const v = this.items.shift()!;
    this.wake(this.senders);
    return v;
  }

  /** The next value; undefined once closed and empty. */
  async recv(clock: Clock): Promise<JsonValue | undefined> {
    for (;;) {
      const v = this.tryRecv();
      if (v !== undefined || this.closed) return v;
      await this.wait(this.receivers, clock);
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.receivers.splice(0)) w();
    for (const w of this.senders.splice(0)) w();
  }

  private wait(list: Waiter[], clock: Clock, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const abort = new AbortController();
      const done = () => {
        abort.abort();
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        resolve();
      };
      list.push(done);
      if (timeoutMs !== undefined) clock.sleep(timeoutMs, abort.signal).then(done, () => undefined);
    });
  }
}

function valueAt(L: LuaState, idx: number): JsonValue {
  return toJson(L, idx, { keepArrayMarker: true });
}

function pushValue(L: LuaState, v: JsonValue | undefined): number {
  if (v === undefined) lua.lua_pushnil(L);
  else pushJson(L, v, { nullSentinel: true });
  return 1;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const queues = new Map<string, NamedQueue>();
  const clock = ctx.clock;
  // Built per context: the waiting methods use this context's clock.
  const QUEUE: LuaClass<NamedQueue> = new LuaClass<NamedQueue>({ name: 'MpscQueue', methods: {
    send: asyncFunction('MpscQueue:send', async (L) => {
      await QUEUE.check(L, 1).send(valueAt(L, 2), clock);
    }),
    send_timeout: asyncFunction('MpscQueue:send_timeout', async (L) => {
      const q = QUEUE.check(L, 1);
      const v = valueAt(L, 2);
      const secs = argNumber(L, 3);
      if (!(await q.send(v, clock, secs * 1000))) throw new Error(`mpsc queue ${q.name}: send timed out after ${secs}s`);
    }),
    try_send: (L) => (lua.lua_pushboolean(L, QUEUE.check(L, 1).trySend(valueAt(L, 2))), 1),
    recv: asyncFunction('MpscQueue:recv', async (L) => {
      const v = await QUEUE.check(L, 1).recv(clock);
      return (Lr) => pushValue(Lr, v);
    }),
    try_recv: (L) => pushValue(L, QUEUE.check(L, 1).tryRecv()),
    recv_many: asyncFunction('MpscQueue:recv_many', async (L) => {
      const q = QUEUE.check(L, 1);
      const n = Math.max(1, optInteger(L, 2) ?? 1);
      const out: JsonValue[] = [];
      const first = await q.recv(clock);
      if (first !== undefined) out.push(first);
      while (out.length < n && first !== undefined) {
        const v = q.tryRecv();
        if (v === undefined) break;
        out.push(v);
      }
      return (Lr) => (pushJson(Lr, out, { nullSentinel: true }), 1);
    }),
    len: (L) => (lua.lua_pushinteger(L, QUEUE.check(L, 1).length), 1),
    is_empty: (L) => (lua.lua_pushboolean(L, QUEUE.check(L, 1).length === 0), 1),
    close: (L) => (QUEUE.check(L, 1).close(), 0),
    is_closed: (L) => (lua.lua_pushboolean(L, QUEUE.check(L, 1).closed), 1),
  } });
  kumo.sub('mpsc').fn('define', (L) => {
    const name = argString(L, 1);
    const limit = optInteger(L, 2) ?? null;
    if (limit !== null && limit < 1) throw new Error(`kumo.mpsc.define: limit must be at least 1, got ${limit}`);
    let q = queues.get(name);
    if (!q) queues.set(name, (q = new NamedQueue(name, limit)));
    QUEUE.push(L, q);
    return 1;
  });
}
