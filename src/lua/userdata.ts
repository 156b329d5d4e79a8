/**
 * Host objects as Lua userdata (Message, HTTP client, Regex...). A class is
 * declared once in TypeScript; each Lua state gets its metatable lazily.
 * Methods are called with colon syntax; fields are read with dot syntax.
 */
import { lua, lauxlib, to_luastring, type LuaCFunction, type LuaState, LUA_TNIL } from './fengari.ts';
import { keyBytes, toText } from './strings.ts';
import { hostIndex, hostPush, hostTableValue, hostTestUdata, type HostTable } from './host-values.ts';

export interface ClassSpec<T> {
  /** Type name, shown in argument errors ("Message expected"). */
  name: string;
  /** obj:method(...) — the object is argument 1. */
  methods?: Record<string, LuaCFunction>;
  /** obj.field — read-only computed fields; push one value, return 1. */
  fields?: Record<string, (L: LuaState, self: T) => number>;
  /** Other metamethods (__tostring, __eq, __call, __pairs, __concat...). */
  meta?: Record<string, LuaCFunction>;
}

interface Box<T> {
  obj: T;
}

/** Lua states share their registry (and so the class metatables) with their threads through l_G. */
function globalOf(L: LuaState): object {
  return (L as unknown as { l_G: object }).l_G;
}

export class LuaClass<T> {
  private readonly tname: Uint8Array;
  /**
   * This class's metatable in each Lua state, once made: checks compare a
   * userdata's metatable with it directly instead of looking the type name up
   * in the registry (a Lua string made and hashed on every method call).
   */
  private readonly metatables = new WeakMap<object, HostTable>();
  constructor(readonly spec: ClassSpec<T>) {
    this.tname = to_luastring(`kumo-lua.${spec.name}`);
  }

  /** Pushes `obj` as a new userdata of this class. */
  push(L: LuaState, obj: T): void {
    const box = lua.lua_newuserdata(L, 0) as Box<T>;
    box.obj = obj;
    const mt = this.metatables.get(globalOf(L));
    if (mt !== undefined) {
      hostPush(L, hostTableValue(mt));
    } else {
      if (lauxlib.luaL_getmetatable(L, this.tname) === LUA_TNIL) {
        lua.lua_pop(L, 1);
        this.createMetatable(L);
      }
      this.metatables.set(globalOf(L), hostIndex(L, -1).value as HostTable);
    }
    lua.lua_setmetatable(L, -2);
  }

  /** luaL_testudata for this class's type name. */
  private testBox(L: LuaState, idx: number): Box<T> | null {
    const mt = this.metatables.get(globalOf(L));
    // No metatable made yet in this state: nothing can be of this class.
    if (mt === undefined) return lauxlib.luaL_testudata(L, idx, this.tname) as Box<T> | null;
    return hostTestUdata(L, idx, mt) as Box<T> | null;
  }

  /** The object at idx, or undefined when it is not of this class. */
  test(L: LuaState, idx: number): T | undefined {
    const box = this.testBox(L, idx);
    return box ? box.obj : undefined;
  }

  /** The object at idx, or a Lua argument error. */
  check(L: LuaState, idx: number): T {
    const box = this.testBox(L, idx);
    if (!box) {
      const got = lua.lua_type(L, idx) === -1 ? 'no value' : lauxlib.luaL_typename(L, idx);
      lauxlib.luaL_argerror(L, idx, to_luastring(`${this.spec.name} expected, got ${decodeTypename(got)}; call methods with ':'`));
    }
    return box!.obj;
  }

  private createMetatable(L: LuaState): void {
    lauxlib.luaL_newmetatable(L, this.tname);
    const { methods = {}, fields = {}, meta = {} } = this.spec;
    lua.lua_pushstring(L, keyBytes(this.spec.name));
    lua.lua_setfield(L, -2, keyBytes('__name'));
    for (const [name, fn] of Object.entries(meta)) {
      lua.lua_pushcfunction(L, fn);
      lua.lua_setfield(L, -2, keyBytes(name));
    }
    // A class that supplies its own __index (table-like config objects) keeps it.
    if (meta.__index) return;
    // Methods live in their own table, the upvalue of __index, so lookups of
    // methods cost one table read and fields are computed only when asked for.
    lua.lua_createtable(L, 0, Object.keys(methods).length);
    for (const [name, fn] of Object.entries(methods)) {
      lua.lua_pushcfunction(L, fn);
      lua.lua_setfield(L, -2, keyBytes(name));
    }
    const fieldMap = new Map(Object.entries(fields));
    if (fieldMap.size === 0) {
      // No computed fields: the methods table itself is __index, so the VM
      // looks methods up without calling into JavaScript (same results: a
      // method, or nil for any other key).
      lua.lua_setfield(L, -2, keyBytes('__index'));
      return;
    }
    const cls = this;
    lua.lua_pushcclosure(
      L,
      (Ls: LuaState) => {
        lua.lua_pushvalue(Ls, 2);
        if (lua.lua_rawget(Ls, lua.lua_upvalueindex(1)) !== LUA_TNIL) return 1;
        lua.lua_pop(Ls, 1);
        if (fieldMap.size > 0 && lua.lua_type(Ls, 2) === lua.LUA_TSTRING) {
          const getter = fieldMap.get(toText(Ls, 2));
          if (getter) return getter(Ls, cls.check(Ls, 1));
        }
        lua.lua_pushnil(Ls);
        return 1;
      },
      1,
    );
    lua.lua_setfield(L, -2, keyBytes('__index'));
  }
}

function decodeTypename(t: Uint8Array | string): string {
  return typeof t === 'string' ? t : new TextDecoder().decode(t);
}
