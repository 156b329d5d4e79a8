/**
 * Typed entry point to the Fengari VM. Fengari ships no type definitions, so
 * its C-API mirrors are typed loosely here, once, instead of at every use.
 *
 * The VM is our fork in vendor/fengari (53-bit exact integers, Lua 5.4
 * syntax and library pieces; vendor/fengari/README.md lists the changes).
 * It is CommonJS; imported statically so the build bundles it with the rest
 * (vendor/fengari/src/fengari.d.ts types it loosely for this import).
 */
import fengariModule from '../../vendor/fengari/src/fengari.js';

const fengari = fengariModule as unknown;

/** A Lua thread (lua_State) as Fengari represents it. Opaque to TypeScript. */
export type LuaState = { readonly __luaState: unique symbol } & object;
/** A JS function with the lua_CFunction calling convention. */
export type LuaCFunction = (L: LuaState) => number;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Api = Record<string, any>;

export const lua: Api = (fengari as Api).lua;
export const lauxlib: Api = (fengari as Api).lauxlib;
export const lualib: Api = (fengari as Api).lualib;
/** The fork's host-side table building/reading (vendor/fengari/src/lhost.js); typed in host-values.ts. */
export const lhost: Api = (fengari as Api).lhost;
export const to_luastring: (s: string, cache?: boolean) => Uint8Array = (fengari as Api).to_luastring;
export const to_jsstring: (u: Uint8Array, from?: number, to?: number, replacement?: boolean) => string = (fengari as Api).to_jsstring;

export const {
  LUA_OK,
  LUA_YIELD,
  LUA_ERRRUN,
  LUA_REGISTRYINDEX,
  LUA_TNIL,
  LUA_TBOOLEAN,
  LUA_TLIGHTUSERDATA,
  LUA_TNUMBER,
  LUA_TSTRING,
  LUA_TTABLE,
  LUA_TFUNCTION,
  LUA_TUSERDATA,
  LUA_TTHREAD,
  LUA_MULTRET,
  LUA_MASKCOUNT,
} = lua as Record<string, number>;
