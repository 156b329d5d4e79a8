/**
 * Typed view of the fork's host-side table API (vendor/fengari/src/lhost.js):
 * Lua values and tables built and read directly, without the API stack, for
 * the bulk JSON ⇄ Lua conversions. Everything here works on the VM's own
 * objects, so the rules of lhost.js apply: a TValue is stored in one place
 * only, a string owns its bytes, tables being read are not changed.
 */
import { lhost, type LuaState } from './fengari.ts';

/** A Lua value as the VM holds it: a variant type tag and a payload. */
export interface TValue {
  readonly type: number;
  readonly value: unknown;
}

/** A Lua string: its bytes (never mutate) and its table hash once computed. */
export interface TString {
  readonly realstring: Uint8Array;
}

/** A table entry in lua_next order. */
export interface TableEntry {
  readonly key: TValue;
  readonly value: TValue;
  readonly n: TableEntry | undefined;
}

/** A Lua table. */
export interface HostTable {
  readonly __hostTable: unique symbol;
}

const types = lhost.types as Record<string, number>;
export const T_NIL = types.LUA_TNIL!;
export const T_BOOLEAN = types.LUA_TBOOLEAN!;
export const T_LIGHTUSERDATA = types.LUA_TLIGHTUSERDATA!;
export const T_NUMFLT = types.LUA_TNUMFLT!;
export const T_NUMINT = types.LUA_TNUMINT!;
export const T_SHRSTR = types.LUA_TSHRSTR!;
export const T_LNGSTR = types.LUA_TLNGSTR!;
export const T_TABLE = types.LUA_TTABLE!;

export const hostString: (bytes: Uint8Array) => TValue = lhost.host_string;
export const hostTString: (bytes: Uint8Array) => TString = lhost.host_tstring;
export const hostKey: (bytes: Uint8Array) => TString = lhost.host_key;
export const hostStrValue: (ts: TString) => TValue = lhost.host_strvalue;
export const hostInt: (n: number) => TValue = lhost.host_int;
export const hostFloat: (n: number) => TValue = lhost.host_float;
export const hostBool: (b: boolean) => TValue = lhost.host_bool;
export const hostLightUserdata: (p: unknown) => TValue = lhost.host_lightuserdata;
export const hostNewTable: (L: LuaState) => HostTable = lhost.host_newtable;
export const hostTableValue: (t: HostTable) => TValue = lhost.host_tablevalue;
/** Raw t[key] = v (v not nil); true when it replaced a value. */
export const hostSetKey: (t: HostTable, key: TString, v: TValue) => boolean = lhost.host_setkey;
export const hostHasKey: (t: HostTable, key: TString) => boolean = lhost.host_haskey;
export const hostSetI: (t: HostTable, i: number, v: TValue) => void = lhost.host_seti;
export const hostSetMetatable: (t: HostTable, mt: HostTable | null) => void = lhost.host_setmetatable;
export const hostPush: (L: LuaState, v: TValue) => void = lhost.host_push;
export const hostIndex: (L: LuaState, idx: number) => TValue = lhost.host_index;
export const hostGetN: (t: HostTable) => number = lhost.host_getn;
export const hostGetI: (t: HostTable, i: number) => TValue = lhost.host_geti;
/** luaL_testudata against a metatable held by the host: the userdata's block when its metatable is `mt`, else null. */
export const hostTestUdata: (L: LuaState, idx: number, mt: HostTable) => unknown = lhost.host_testudata;
export const hostFirst: (t: HostTable) => TableEntry | undefined = lhost.host_first;

/** The bytes of a string TValue (type T_SHRSTR or T_LNGSTR). */
export function stringBytes(v: TValue): Uint8Array {
  return (v.value as TString).realstring;
}
