/**
 * One Lua state and the coroutine runner that drives it. Every entry into Lua
 * (policy top level, event handlers, connection methods) runs in its own
 * coroutine so host functions can suspend it; hundreds of them interleave on
 * this one state (fengari-notes.md Q1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { lua, lauxlib, lualib, to_luastring, type LuaState, LUA_OK, LUA_YIELD, LUA_REGISTRYINDEX, LUA_MASKCOUNT, LUA_TSTRING, LUA_TNUMBER, LUA_TUSERDATA } from './fengari.ts';
import { LuaError, nativeErrorHandler } from './errors.ts';
import { isHostOp } from './host-function.ts';
import { installForwardingCoroutines, markSliceYield, takeSliceYield } from './coroutines.ts';
import { installSandbox } from './sandbox.ts';
import { configureLoader, BUNDLED_LUA_DIR } from './loader.ts';
import { decodeText, keyBytes, toBytes } from './strings.ts';

export interface LuaRuntimeOptions {
  /** Directories searched by `require`, in order, before kumo-lua's own lua/ directory. */
  searchDirs?: readonly string[];
  /**
   * Longest a handler may run without waiting on I/O before it is stopped.
   * Only its running time counts: time parked between slices does not.
   */
  cpuLimitMs?: number;
  /**
   * After this much running time since it was last resumed, a busy handler
   * gives up its turn (the count hook yields it) so listeners, other handlers
   * and delivery get served; the runner resumes it on the next turn of the
   * event loop. Infinity turns slicing off.
   */
  sliceMs?: number;
  /** Where `print` writes; defaults to stdout. */
  print?: (line: string) => void;
  /** Told each time the CPU guard stops a handler (the daemon prints it). */
  onCpuStop?: (message: string) => void;
  /** Where Lua 5.4 `warn` messages go once a policy turns them on with `warn('@on')`; defaults to stderr. */
  warn?: (message: string) => void;
}

/** Pushes the values a call receives; returns how many. */
export type PushArgs = (co: LuaState) => number;
/** Reads a call's results (at stack indices 1..n of `co`) before the thread is released. */
export type ReadResults<R> = (co: LuaState, n: number) => R;

const HOOK_EVERY_INSTRUCTIONS = 10_000;
const DEFAULT_SLICE_MS = 25;

/** One entry into Lua (a handler call) and the running time it has used. */
interface Entry {
  readonly co: LuaState;
  /** What it runs (the event name...), for messages. */
  readonly label: string;
  /** When the runner last resumed it. */
  resumedAt: number;
  /** Running time before `resumedAt` since its last real wait (I/O or coroutine.yield). */
  ranMs: number;
}

export class LuaRuntime {
  readonly L: LuaState;
  readonly cpuLimitMs: number;
  readonly sliceMs: number;
  /** The handler coroutine currently executing, and the event it serves. */
  private active: Entry | null = null;
  /** When Lua was last entered; the guard's start when no entry is active (Lua run straight on the main thread). */
  private lastResumedAt = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private readonly onCpuStop: ((message: string) => void) | undefined;

  constructor(options: LuaRuntimeOptions = {}) {
    this.cpuLimitMs = options.cpuLimitMs ?? 10_000;
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.onCpuStop = options.onCpuStop;
    const L = lauxlib.luaL_newstate() as LuaState;
    this.L = L;
    lua.lua_atnativeerror(L, nativeErrorHandler);
    lualib.luaL_openlibs(L);
    installSandbox(L);
    installForwardingCoroutines(L);
    configureLoader(L, [...(options.searchDirs ?? []), BUNDLED_LUA_DIR]);
    this.installPrint(options.print ?? ((line) => process.stdout.write(line + '\n')));
    if (options.warn) lua.lua_setwarnf(L, lauxlib.luaL_makewarnf(options.warn));
    // Set on the main thread before any coroutine exists: new threads inherit it.
    lua.lua_sethook(L, (Lh: LuaState) => this.cpuHook(Lh), LUA_MASKCOUNT, HOOK_EVERY_INSTRUCTIONS);
  }

  /** Label (event name) of the handler running right now, if any. */
  get activeLabel(): string | undefined {
    return this.active?.label;
  }

  /**
   * Runs every HOOK_EVERY_INSTRUCTIONS VM instructions in whatever thread is
   * running. Stops a handler over its CPU budget; parks one that has used up
   * its slice, where the thread can yield (not inside a metamethod, a sort
   * comparator or another JS-call boundary). A user coroutine is parked too:
   * coroutine.resume passes the pause up to the entry (coroutines.ts).
   */
  private cpuHook(L: LuaState): void {
    const now = performance.now();
    const entry = this.active;
    const slice = now - (entry ? entry.resumedAt : this.lastResumedAt);
    if (slice + (entry ? entry.ranMs : 0) > this.cpuLimitMs) {
      const label = this.activeLabel ? ` in '${this.activeLabel}'` : '';
      const message = `kumo-lua stopped a handler${label} that ran for more than ${this.cpuLimitMs}ms without waiting (infinite loop?)`;
      this.onCpuStop?.(message);
      lauxlib.luaL_error(L, to_luastring(message));
    }
    if (entry && slice >= this.sliceMs && lua.lua_isyieldable(L)) {
      markSliceYield(L);
      lua.lua_yield(L, 0);
    }
  }

  private installPrint(write: (line: string) => void): void {
    const L = this.L;
    lua.lua_pushcfunction(L, (Lp: LuaState) => {
      const n = lua.lua_gettop(Lp);
      const parts: string[] = [];
      for (let i = 1; i <= n; i++) {
        lauxlib.luaL_tolstring(Lp, i);
        parts.push(decodeText(toBytes(Lp, -1)));
        lua.lua_pop(Lp, 1);
      }
      write(parts.join('\t'));
      return 0;
    });
    lua.lua_setglobal(L, keyBytes('print'));
  }

  /** Anchors the value at idx of the main stack in the registry (and pops it). */
  ref(): number {
    return lauxlib.luaL_ref(this.L, LUA_REGISTRYINDEX) as number;
  }

  unref(ref: number): void {
    lauxlib.luaL_unref(this.L, LUA_REGISTRYINDEX, ref);
  }

  /** Pushes a registry-anchored value onto `L`'s stack. */
  pushRef(L: LuaState, ref: number): void {
    lua.lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  }

  /**
   * Runs a function in a fresh coroutine until it finishes, waiting on every
   * host operation it starts. `pushFn` pushes the function, `pushArgs` its
   * arguments; `read` sees the results. A Lua error rejects with LuaError.
   */
  async call<R>(label: string, pushFn: (co: LuaState) => void, pushArgs: PushArgs, read: ReadResults<R>): Promise<R> {
    if (this.closed) throw new Error('the Lua runtime has been shut down');
    const L = this.L;
    const co = lua.lua_newthread(L) as LuaState;
    const threadRef = this.ref();
    try {
      pushFn(co);
      let nargs = pushArgs(co);
      const entry: Entry = { co, label, resumedAt: 0, ranMs: 0 };
      for (;;) {
        const previous = this.active;
        this.active = entry;
        entry.resumedAt = this.lastResumedAt = performance.now();
        const status = lua.lua_resume(co, null, nargs);
        this.active = previous;
        nargs = 0;
        if (status === LUA_OK) return read(co, lua.lua_gettop(co));
        if (status !== LUA_YIELD) throw this.failed(co);
        if (takeSliceYield(co)) {
          // Parked by the slice hook: its running time keeps counting toward the guard.
          entry.ranMs += performance.now() - entry.resumedAt;
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        entry.ranMs = 0; // a real wait resets the guard
        const op = lua.lua_gettop(co) >= 1 ? isHostOp(co, -1) : undefined;
        lua.lua_settop(co, 0);
        if (op) await op.wait();
        else await new Promise<void>((resolve) => setImmediate(resolve)); // a bare coroutine.yield()
      }
    } finally {
      this.unref(threadRef);
    }
  }

  /** Calls a registry-anchored function. */
  callRef<R>(label: string, fnRef: number, pushArgs: PushArgs, read: ReadResults<R>): Promise<R> {
    return this.call(label, (co) => this.pushRef(co, fnRef), pushArgs, read);
  }

  /**
   * The error a handler died of. The traceback is taken first; then the
   * thread is unwound like Lua 5.4's lua_resetthread, which runs its pending
   * __close metamethods (an error raised by one replaces the error, as in Lua).
   */
  private failed(co: LuaState): LuaError {
    const L = this.L;
    lauxlib.luaL_traceback(L, co, null, 0);
    const traceback = decodeText(toBytes(L, -1));
    lua.lua_pop(L, 1);
    lua.lua_resetthread(co);
    let payload: unknown;
    let message: string;
    const t = lua.lua_type(co, -1);
    if (t === LUA_TSTRING || t === LUA_TNUMBER) {
      message = decodeText(toBytes(co, -1));
    } else {
      if (t === LUA_TUSERDATA) payload = (lua.lua_touserdata(co, -1) as { obj?: unknown } | null)?.obj;
      // tostring() may run a __tostring metamethod; do it protected on the main thread.
      // A dead coroutine's stack has no room to spare: move the value, don't copy it.
      lua.lua_getglobal(L, keyBytes('tostring'));
      lua.lua_xmove(co, L, 1);
      message = lua.lua_pcall(L, 1, 1, 0) === LUA_OK && lua.lua_type(L, -1) === LUA_TSTRING ? decodeText(toBytes(L, -1)) : '(error object is not a string)';
      lua.lua_pop(L, 1);
    }
    return new LuaError(message, traceback, payload);
  }

  /** Compiles a file; syntax errors become LuaError with file:line. */
  private loadChunk(source: Uint8Array, chunkName: string): number {
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, source, source.length, to_luastring(chunkName)) !== LUA_OK) {
      const message = decodeText(toBytes(L, -1));
      lua.lua_pop(L, 1);
      throw new LuaError(message, '');
    }
    return this.ref();
  }

  /** Runs a Lua file's top level (as a coroutine, so it may wait on I/O). */
  async runFile(file: string, label = 'policy'): Promise<void> {
    const abs = path.resolve(file);
    let source: Buffer;
    try {
      source = fs.readFileSync(abs);
    } catch (e) {
      throw new LuaError(`cannot read ${abs}: ${(e as Error).message}`, '');
    }
    await this.runSource(new Uint8Array(source), `@${abs}`, label);
  }

  async runSource(source: Uint8Array | string, chunkName: string, label = 'chunk'): Promise<void> {
    const bytes = typeof source === 'string' ? to_luastring(source) : source;
    const ref = this.loadChunk(bytes, chunkName);
    try {
      await this.callRef(label, ref, () => 0, () => undefined);
    } finally {
      this.unref(ref);
    }
  }

  /** Evaluates an expression or chunk and returns its results converted by `read`. */
  async evaluate<R>(code: string, read: ReadResults<R>, label = 'eval'): Promise<R> {
    const ref = this.loadChunk(to_luastring(code), `=${label}`);
    try {
      return await this.callRef(label, ref, () => 0, read);
    } finally {
      this.unref(ref);
    }
  }

  /** Stops new calls and runs every pending __gc finalizer (Lua runs them when a state closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    lua.lua_runallfinalizers(this.L);
    this.closing.abort(new Error('the Lua runtime has been shut down'));
  }

  /** Aborted by close(): waits that must not outlive the daemon (kumo.sleep in a spawned task) listen to it. */
  get shutdownSignal(): AbortSignal {
    return this.closing.signal;
  }
}
