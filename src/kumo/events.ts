/**
 * `kumo.on` and event dispatch with KumoMTA's exact rules (lua-api.md §2):
 * seven multi-handler events chain (a handler returning no values passes on;
 * any value, even nil, stops the chain); every other name takes one handler
 * and a second registration is an error; handlers may only be registered
 * while the policy loads or inside `main`.
 */
import { internedKey } from '../lua/interned-keys.ts';
import { hostPush, hostStrValue, type TString } from '../lua/host-values.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import type { LuaRuntime, PushArgs, ReadResults } from '../lua/runtime.ts';
import { argString, checkFunction } from '../lua/args.ts';
import { keyBytes, pushText, decodeText } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

export const MULTI_HANDLER_EVENTS: ReadonlySet<string> = new Set([
  'pre_init',
  'validate_config',
  'should_enqueue_log_record',
  'get_queue_config',
  'requeue_message',
  'throttle_insert_ready_queue',
  'get_acl_definition',
]);

interface Handler {
  ref: number;
  /** "<source>:<line>" of the function's definition. */
  definedAt: string;
  /** Call stack at registration, innermost first, as "<short_src>:<line>". */
  registrars: string[];
}

export type DispatchResult<R> = { handled: true; value: R } | { handled: false };

function luaString(v: Uint8Array | string | null): string {
  if (v === null) return '?';
  return typeof v === 'string' ? v : decodeText(v);
}

/** Labels of runs during which kumo.on is allowed: loading the policy, and `main`. */
export const POLICY_LOAD_LABEL = 'policy';

function mayRegisterWhile(running: string | undefined): boolean {
  return running === undefined || running === POLICY_LOAD_LABEL || running.startsWith('load:') || running === 'event:main';
}

export class EventRegistry {
  private readonly handlers = new Map<string, Handler[]>();

  constructor(private readonly runtime: LuaRuntime) {}

  has(name: string): boolean {
    return (this.handlers.get(name)?.length ?? 0) > 0;
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  /** The `kumo.on` implementation: function at index 2 of L. */
  private register(L: LuaState): number {
    const name = argString(L, 1);
    checkFunction(L, 2);
    const running = this.runtime.activeLabel;
    if (!mayRegisterWhile(running)) {
      throw new Error(
        `kumo.on('${name}', ...) was called while '${running!.replace(/^event:/, '')}' was running; ` +
          `register event handlers while the policy is loading (at its top level) or inside 'main'`,
      );
    }
    const ar = new lua.lua_Debug();
    lua.lua_pushvalue(L, 2);
    lua.lua_getinfo(L, keyBytes('>S'), ar);
    const definedAt = `${luaString(ar.source).replace(/^[@=]/, '')}:${ar.linedefined}`;
    const list = this.handlers.get(name) ?? [];
    if (list.length > 0 && !MULTI_HANDLER_EVENTS.has(name)) {
      throw new Error(`${name} event already has a handler defined at ${list[0]!.definedAt}`);
    }
    const registrars: string[] = [];
    for (let level = 1; level < 64; level++) {
      const frame = new lua.lua_Debug();
      if (!lua.lua_getstack(L, level, frame)) break;
      lua.lua_getinfo(L, keyBytes('Sl'), frame);
      registrars.push(`${luaString(frame.short_src)}:${frame.currentline}`);
    }
    lua.lua_pushvalue(L, 2);
    lua.lua_xmove(L, this.runtime.L, 1);
    list.push({ ref: this.runtime.ref(), definedAt, registrars });
    this.handlers.set(name, list);
    return 0;
  }

  private registrarsOf(L: LuaState): number {
    const list = this.handlers.get(argString(L, 1));
    if (!list || list.length === 0) {
      lua.lua_pushnil(L);
      return 1;
    }
    lua.lua_createtable(L, list.length, 0);
    list.forEach((h, i) => {
      lua.lua_createtable(L, h.registrars.length, 0);
      h.registrars.forEach((r, j) => {
        pushText(L, r);
        lua.lua_rawseti(L, -2, j + 1);
      });
      lua.lua_rawseti(L, -2, i + 1);
    });
    return 1;
  }

  /**
   * Fires an event. Multi-handler events stop at the first handler that
   * returns a value; single-handler events read whatever the one handler
   * returned (possibly nothing). `read` sees the first result at index 1.
   */
  async dispatch<R>(name: string, pushArgs: PushArgs, read: ReadResults<R>): Promise<DispatchResult<R>> {
    const list = this.handlers.get(name);
    if (!list || list.length === 0) return { handled: false };
    const label = `event:${name}`;
    // The event name as a Lua string is made once per process (Lua strings are immutable and shareable).
    const nameValue = internedKey(name);
    if (!MULTI_HANDLER_EVENTS.has(name)) {
      const ref = list[0]!.ref;
      const value = await this.runtime.call(label, (co) => this.pushHandler(co, nameValue, ref), pushArgs, read);
      return { handled: true, value };
    }
    for (const handler of [...list]) {
      const outcome = await this.runtime.call(label, (co) => this.pushHandler(co, nameValue, handler.ref), pushArgs, (co, n): DispatchResult<R> =>
        n === 0 ? { handled: false } : { handled: true, value: read(co, n) },
      );
      if (outcome.handled) return outcome;
    }
    return { handled: false };
  }

  /** Sets _KUMO_CURRENT_EVENT in the handler's thread and pushes the handler. */
  private pushHandler(co: LuaState, nameValue: TString, ref: number): void {
    hostPush(co, hostStrValue(nameValue));
    lua.lua_setglobal(co, keyBytes('_KUMO_CURRENT_EVENT'));
    this.runtime.pushRef(co, ref);
  }

  /** Fires an event whose result is ignored. */
  async fire(name: string, pushArgs: PushArgs = () => 0): Promise<void> {
    await this.dispatch(name, pushArgs, () => undefined);
  }

  /** Fires an event whose result is a boolean (nil/false → false). */
  async fireBoolean(name: string, pushArgs: PushArgs, fallback = false): Promise<boolean> {
    const r = await this.dispatch(name, pushArgs, (co, n) => n > 0 && (lua.lua_toboolean(co, 1) as boolean));
    return r.handled ? r.value : fallback;
  }

  bind(kumo: ModuleTable, _ctx: KumoContext): void {
    kumo.fn('on', (L) => this.register(L));
    kumo.fn('get_event_registrars', (L) => this.registrarsOf(L));
  }
}
