/**
 * How a Message method reaches its KumoContext (clock, services): the context
 * is stored as a light userdata in the Lua registry, which every coroutine of
 * the state shares, when kumo.message registers (src/kumo/message.ts). One
 * Lua state belongs to one context, so no global map is needed.
 */
import { lua, LUA_REGISTRYINDEX, type LuaState } from '../lua/fengari.ts';
import { keyBytes } from '../lua/strings.ts';
import type { KumoContext } from '../kumo/context.ts';

const CONTEXT_KEY = keyBytes('kumo-lua.message-context');

export function bindMessageContext(L: LuaState, ctx: KumoContext): void {
  lua.lua_pushlightuserdata(L, ctx);
  lua.lua_setfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
}

/** The context bound to L's state, if kumo.message was registered there. */
export function messageContext(L: LuaState): KumoContext | undefined {
  lua.lua_getfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
  const ctx = lua.lua_type(L, -1) === lua.LUA_TLIGHTUSERDATA ? (lua.lua_touserdata(L, -1) as KumoContext) : undefined;
  lua.lua_pop(L, 1);
  return ctx;
}

/** Now on the context clock (the wall clock where no context is bound). */
export function messageClockNow(L: LuaState): number {
  return messageContext(L)?.clock.now() ?? Date.now();
}
