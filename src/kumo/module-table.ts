/**
 * Builds the Lua tables of the `kumo` module. Each sub-module file exports
 * `register(kumo: ModuleTable, ctx: KumoContext)` and adds its functions,
 * e.g. `kumo.sub('serde').fn('json_encode', ...)`.
 */
import { lua, type LuaCFunction, type LuaState } from '../lua/fengari.ts';
import type { LuaRuntime } from '../lua/runtime.ts';
import { keyBytes } from '../lua/strings.ts';

export class ModuleTable {
  private readonly subs = new Map<string, ModuleTable>();

  /** `ref` anchors the Lua table in the registry. */
  constructor(
    private readonly runtime: LuaRuntime,
    readonly ref: number,
    readonly path: string,
  ) {}

  static create(runtime: LuaRuntime, path: string): ModuleTable {
    lua.lua_createtable(runtime.L, 0, 32);
    return new ModuleTable(runtime, runtime.ref(), path);
  }

  private withTable(fn: (L: LuaState) => void): this {
    const L = this.runtime.L;
    this.runtime.pushRef(L, this.ref);
    fn(L);
    lua.lua_pop(L, 1);
    return this;
  }

  /** Sets `<table>.name = f`. */
  fn(name: string, f: LuaCFunction): this {
    return this.withTable((L) => {
      lua.lua_pushcfunction(L, f);
      lua.lua_setfield(L, -2, keyBytes(name));
    });
  }

  /** Sets several functions at once. */
  fns(functions: Record<string, LuaCFunction>): this {
    for (const [name, f] of Object.entries(functions)) this.fn(name, f);
    return this;
  }

  /** Sets `<table>.name` to whatever `push` leaves on the stack. */
  value(name: string, push: (L: LuaState) => void): this {
    return this.withTable((L) => {
      push(L);
      lua.lua_setfield(L, -2, keyBytes(name));
    });
  }

  /** Makes `<table>.name` refer to the same value as `<table>.other` (legacy aliases). */
  alias(name: string, from: ModuleTable, fromName: string): this {
    const L = this.runtime.L;
    this.runtime.pushRef(L, from.ref);
    lua.lua_getfield(L, -1, keyBytes(fromName));
    this.runtime.pushRef(L, this.ref);
    lua.lua_insert(L, -2);
    lua.lua_setfield(L, -2, keyBytes(name));
    lua.lua_pop(L, 2);
    return this;
  }

  /** Makes this table what `require(name)` returns (package.loaded[name]). */
  installAs(name: string): void {
    const L = this.runtime.L;
    lua.lua_getglobal(L, keyBytes('package'));
    lua.lua_getfield(L, -1, keyBytes('loaded'));
    this.runtime.pushRef(L, this.ref);
    lua.lua_setfield(L, -2, keyBytes(name));
    lua.lua_pop(L, 2);
  }

  /** The sub-table `<table>.name`, created on first use. */
  sub(name: string): ModuleTable {
    let sub = this.subs.get(name);
    if (!sub) {
      sub = ModuleTable.create(this.runtime, `${this.path}.${name}`);
      const ref = sub.ref;
      this.value(name, (L) => this.runtime.pushRef(L, ref));
      this.subs.set(name, sub);
    }
    return sub;
  }
}
