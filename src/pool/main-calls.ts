/**
 * The main thread's side of the workers' one cross-thread call
 * (worker-surface.ts): a routed kumo.<path> runs on the main state with JSON
 * arguments; kumo.memoize operations reach the shared caches (SharedMemo);
 * throttle methods run on the main state's throttles (worker-throttle.ts);
 * kumo.inject_message hands a snapshot of the worker's message to the engine.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { keyBytes } from '../lua/strings.ts';
import type { LuaRuntime } from '../lua/runtime.ts';
import type { Clock } from '../util/clock.ts';
import { SharedMemo } from './shared-memo.ts';
import { MEMO_ABANDON, MEMO_LOOKUP, MEMO_STORE, type SharedMemoOptions } from './worker-memoize.ts';
import { MAIN_THROTTLE_CHUNK, THROTTLE_CALL } from './worker-throttle.ts';
import { fromWire, INJECT_CALL, LATENCY_CALL, messageFromSnapshot, toWire, type MessageSnapshot, type WireJson } from './wire.ts';
import type { Message } from '../message/message.ts';
import type { InjectOptions } from '../message/store-slot.ts';

export interface MainCallsOptions {
  clock: Clock;
  /** Subscribes to config epoch bumps (memoize's invalidate_with_epoch); returns the unsubscribe. */
  onConfigEpoch?: (bumped: () => void) => () => void;
  /** Queues a message a worker made (kumo.inject_message): the main state's MESSAGE_INJECTOR. */
  inject?: (msg: Message, opts: InjectOptions) => Promise<void>;
  /** Records a worker's timer:done() (the main state's LUA_LATENCY, when the metrics layer provides one). */
  observeLatency?: (label: string, seconds: number) => void;
}

export class MainCalls {
  /** kumo.memoize caches of the worker states, shared by name. */
  readonly memo: SharedMemo;
  private readonly stopEpochWatch: () => void;

  constructor(
    private readonly runtime: LuaRuntime,
    private readonly options: MainCallsOptions,
  ) {
    this.memo = new SharedMemo(options.clock);
    this.stopEpochWatch = options.onConfigEpoch?.(() => this.memo.bumpEpoch()) ?? (() => undefined);
  }

  /** A routed call: kumo.<path> (ROUTED) run on the main state with JSON arguments, or a memoize / throttle operation. */
  async routed(fn: string, args: WireJson[]): Promise<WireJson[]> {
    switch (fn) {
      case MEMO_LOOKUP:
        return this.memo.lookup(args[0] as SharedMemoOptions, args[1] as string);
      case MEMO_STORE:
        this.memo.store(args[0] as string, args[1] as string, args[2] as WireJson[]);
        return [];
      case MEMO_ABANDON:
        this.memo.abandon(args[0] as string, args[1] as string);
        return [];
      case INJECT_CALL: {
        if (!this.options.inject) throw new Error('kumo.inject_message: the queue manager is not available');
        const msg = messageFromSnapshot(args[0] as MessageSnapshot);
        // New to the engine: all of it is unsaved.
        msg.metaDirty = msg.dataDirty = true;
        await this.options.inject(msg, { deferredSpool: args[1] === true });
        return [];
      }
      case LATENCY_CALL:
        this.options.observeLatency?.(args[0] as string, args[1] as number);
        return [];
      case THROTTLE_CALL:
        return this.callMainFunction(fn, await this.throttleFunction(), args);
    }
    const path = fn.split('.').slice(1);
    return this.callMainFunction(fn, (co) => {
      lua.lua_getglobal(co, keyBytes('package'));
      lua.lua_getfield(co, -1, keyBytes('loaded'));
      lua.lua_getfield(co, -1, keyBytes('kumo'));
      for (const part of path) lua.lua_getfield(co, -1, keyBytes(part));
      lua.lua_replace(co, 1);
      lua.lua_settop(co, 1);
    }, args);
  }

  private throttleRef: number | null = null;

  /** Pushes the main-state helper that runs a throttle method (worker-throttle.ts). */
  private async throttleFunction(): Promise<(co: LuaState) => void> {
    const runtime = this.runtime;
    this.throttleRef ??= await runtime.evaluate(MAIN_THROTTLE_CHUNK, (co) => {
      lua.lua_pushvalue(co, 1);
      lua.lua_xmove(co, runtime.L, 1);
      return runtime.ref();
    }, 'worker-throttle');
    const ref = this.throttleRef;
    return (co) => runtime.pushRef(co, ref);
  }

  /** Runs a main-state function (pushed by `pushFn`) with JSON arguments in its own coroutine; its results as JSON. */
  private callMainFunction(label: string, pushFn: (co: LuaState) => void, args: WireJson[]): Promise<WireJson[]> {
    return this.runtime.call(
      `worker-call:${label}`,
      pushFn,
      (co) => {
        for (const a of args) pushJson(co, fromWire(a), { arrayMarker: true });
        return args.length;
      },
      (co, n) => {
        const out: WireJson[] = [];
        for (let i = 1; i <= n; i++) out.push(toWire(toJson(co, i)));
        return out;
      },
    );
  }

  close(): void {
    this.stopEpochWatch();
  }
}
