/**
 * custom_lua connections on the Fengari bridge (engine.md §4, lua-api.md §3.5):
 * the constructor event builds a connection table; `send`/`send_batch`/`close`
 * are looked up on it (metatables honoured) and called as methods.
 */
import { lua, type LuaState, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING } from '../lua/fengari.ts';
import { LuaError } from '../lua/errors.ts';
import type { LuaRuntime } from '../lua/runtime.ts';
import { pushText, toText } from '../lua/strings.ts';
import { MULTI_HANDLER_EVENTS, type EventRegistry } from '../kumo/events.ts';
import { asRejection } from '../kumo/reject.ts';
import type { Message } from '../message/message.ts';
import { pushMessage } from '../message/lua-binding.ts';
import type { ConnectionFactory, ConnectOptions, DeliveryConnection, SendOutcome } from './types.ts';

// Method lookup and call happen inside Lua so __index metamethods and errors
// behave exactly as a Lua caller would see them.
const TRAMPOLINE = `return function(conn, method, arg)
  if type(conn) ~= 'table' then return 'invalid' end
  local f = conn[method]
  if type(f) ~= 'function' then return 'notfound' end
  return 'ok', f(conn, arg)
end`;

function anchorFirst(runtime: LuaRuntime) {
  return (co: LuaState, n: number): number => {
    if (n === 0) lua.lua_pushnil(co);
    else lua.lua_pushvalue(co, 1);
    lua.lua_xmove(co, runtime.L, 1);
    return runtime.ref();
  };
}

function pushOptionalText(co: LuaState, s: string | null): void {
  if (s === null) lua.lua_pushnil(co);
  else pushText(co, s);
}

type CallResult = { status: 'invalid' | 'notfound' } | { status: 'ok'; type: number; text: string | null };

export class LuaConnectionFactory implements ConnectionFactory {
  private trampolineRef: number | null = null;

  constructor(private readonly runtime: LuaRuntime, private readonly events: EventRegistry) {}

  private async trampoline(): Promise<number> {
    this.trampolineRef ??= await this.runtime.evaluate(TRAMPOLINE, anchorFirst(this.runtime), 'custom_lua');
    return this.trampolineRef;
  }

  async connect(constructorName: string, domain: string, tenant: string | null, campaign: string | null, options?: ConnectOptions): Promise<DeliveryConnection> {
    if (MULTI_HANDLER_EVENTS.has(constructorName)) {
      throw new Error(`${constructorName} is a multi-handler event and cannot be a custom_lua constructor`);
    }
    const result = await this.events.dispatch(constructorName, (co) => {
      pushText(co, domain);
      pushOptionalText(co, tenant);
      pushOptionalText(co, campaign);
      return 3;
    }, anchorFirst(this.runtime));
    if (!result.handled) throw new Error(`no handler is registered for the custom_lua constructor event '${constructorName}'`);
    return new LuaConnection(this.runtime, await this.trampoline(), result.value, options?.batchSize ?? 1);
  }
}

class LuaConnection implements DeliveryConnection {
  private closed = false;

  constructor(
    private readonly runtime: LuaRuntime,
    private readonly trampolineRef: number,
    private readonly connRef: number,
    private readonly batchSize: number,
  ) {}

  private invoke(method: string, pushArg: (co: LuaState) => void): Promise<CallResult> {
    return this.runtime.callRef(`custom_lua:${method}`, this.trampolineRef, (co) => {
      this.runtime.pushRef(co, this.connRef);
      pushText(co, method);
      pushArg(co);
      return 3;
    }, (co, n): CallResult => {
      const status = toText(co, 1);
      if (status !== 'ok') return { status: status as 'invalid' | 'notfound' };
      const type = n >= 2 ? lua.lua_type(co, 2) : LUA_TNIL;
      const text = type === LUA_TSTRING || type === LUA_TNUMBER ? toText(co, 2) : null;
      return { status: 'ok', type, text };
    });
  }

  async send(batch: Message[]): Promise<SendOutcome> {
    const method = this.batchSize === 1 ? 'send' : 'send_batch';
    if (this.batchSize === 1 && batch.length !== 1) {
      return { kind: 'error', text: 'lua_dispatcher was configured with a batch size of 1, but multiple messages were popped' };
    }
    let r: CallResult;
    try {
      r = await this.invoke(method, (co) => {
        if (method === 'send') {
          pushMessage(co, batch[0]!);
          return;
        }
        lua.lua_createtable(co, batch.length, 0);
        batch.forEach((msg, i) => {
          pushMessage(co, msg);
          lua.lua_rawseti(co, -2, i + 1);
        });
      });
    } catch (err) {
      const rejection = err instanceof LuaError ? asRejection(err.payload) : asRejection(err);
      if (rejection) return { kind: 'rejected', code: rejection.code, text: rejection.text };
      const detail = err instanceof LuaError ? err.describe() : (err as Error).message;
      return { kind: 'error', text: `sender:${method} method failed: runtime error: ${detail}` };
    }
    if (r.status !== 'ok') {
      return { kind: 'error', text: r.status === 'invalid' ? 'invalid connection object' : `sender:${method} method not found` };
    }
    if (r.text === null) {
      const typeName = lua.lua_typename(this.runtime.L, r.type) as Uint8Array;
      return { kind: 'error', text: `sender:${method} method failed: error converting Lua ${new TextDecoder().decode(typeName)} to String` };
    }
    return { kind: 'delivered', content: r.text };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.invoke('close', (co) => lua.lua_pushnil(co));
    } finally {
      this.runtime.unref(this.connRef);
    }
  }
}
