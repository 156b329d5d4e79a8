/**
 * Reading structured table parameters the way KumoMTA's serde-based ones
 * behave (clients.md §0.2 "S+"): no number-to-string coercion, `missing
 * field`, and errors shaped `deserialize error: <what>, while processing <json>`
 * (typing.lua parses that shape).
 */
import { lua, type LuaState, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TBOOLEAN } from '../../lua/fengari.ts';
import { decodeUtf8Strict, keyBytes, toBytes } from '../../lua/strings.ts';
import { luaToSerde } from './lua-value.ts';
import { writeJson } from './json-text.ts';

export class StructError extends Error {}

export function describeValue(L: LuaState, idx: number): string {
  try {
    return writeJson(luaToSerde(L, idx, { materialize: true }), false);
  } catch {
    return '<unrepresentable value>';
  }
}

/** Field access for the table at `idx`, reporting errors against the whole table. */
export class StructReader {
  readonly idx: number;
  constructor(
    private readonly L: LuaState,
    idx: number,
  ) {
    this.idx = lua.lua_absindex(L, idx);
    if (lua.lua_type(L, this.idx) !== LUA_TTABLE) this.fail(`invalid type: ${this.typeDesc(this.idx)}, expected a map`);
  }

  fail(message: string): never {
    throw new StructError(`deserialize error: ${message}, while processing ${describeValue(this.L, this.idx)}`);
  }

  private typeDesc(idx: number): string {
    const L = this.L;
    switch (lua.lua_type(L, idx)) {
      case LUA_TNIL:
        return 'unit value';
      case LUA_TBOOLEAN:
        return `boolean \`${lua.lua_toboolean(L, idx)}\``;
      case LUA_TNUMBER:
        return lua.lua_isinteger(L, idx) ? `integer \`${lua.lua_tointeger(L, idx)}\`` : `floating point \`${lua.lua_tonumber(L, idx)}\``;
      case LUA_TSTRING:
        return `string ${JSON.stringify(decodeUtf8Strict(toBytes(L, idx)) ?? '')}`;
      case LUA_TTABLE:
        return 'map';
      default:
        return lua.lua_typename(L, lua.lua_type(L, idx)) as string;
    }
  }

  /** Runs `read` with the field on top of the stack; undefined when nil/absent. */
  with<T>(name: string, read: (idx: number, describe: () => string) => T): T | undefined {
    const L = this.L;
    const t = lua.lua_getfield(L, this.idx, keyBytes(name));
    try {
      if (t === LUA_TNIL) return undefined;
      const top = lua.lua_gettop(L);
      return read(top, () => this.typeDesc(top));
    } finally {
      lua.lua_pop(L, 1);
    }
  }

  optString(name: string): string | undefined {
    return this.with(name, (idx, describe) => {
      if (lua.lua_type(this.L, idx) !== LUA_TSTRING) this.fail(`invalid type: ${describe()}, expected a string`);
      const text = decodeUtf8Strict(toBytes(this.L, idx));
      if (text === undefined) this.fail('invalid utf-8 sequence');
      return text;
    });
  }

  string(name: string): string {
    const v = this.optString(name);
    if (v === undefined) this.fail(`missing field \`${name}\``);
    return v;
  }

  optBoolean(name: string): boolean | undefined {
    return this.with(name, (idx, describe) => {
      if (lua.lua_type(this.L, idx) !== LUA_TBOOLEAN) this.fail(`invalid type: ${describe()}, expected a boolean`);
      return lua.lua_toboolean(this.L, idx) as boolean;
    });
  }

  optInteger(name: string): number | undefined {
    return this.with(name, (idx, describe) => {
      if (!lua.lua_isinteger(this.L, idx) || lua.lua_type(this.L, idx) !== LUA_TNUMBER) this.fail(`invalid type: ${describe()}, expected an integer`);
      return lua.lua_tointeger(this.L, idx) as number;
    });
  }

  /** A string→string map (values must be strings, no coercion). */
  optStringMap(name: string): [string, string][] | undefined {
    return this.with(name, (idx, describe) => {
      const L = this.L;
      if (lua.lua_type(L, idx) !== LUA_TTABLE) this.fail(`invalid type: ${describe()}, expected a map`);
      const out: [string, string][] = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, idx) !== 0) {
        const top = lua.lua_gettop(L);
        if (lua.lua_type(L, top - 1) !== LUA_TSTRING) this.fail(`invalid type: ${this.typeDesc(top - 1)}, expected a string`);
        if (lua.lua_type(L, top) !== LUA_TSTRING) this.fail(`invalid type: ${this.typeDesc(top)}, expected a string`);
        out.push([decodeUtf8Strict(toBytes(L, top - 1)) ?? '', decodeUtf8Strict(toBytes(L, top)) ?? '']);
        lua.lua_pop(L, 1);
      }
      return out;
    });
  }

  /** Raw value of a field as a (number|string) for durations. */
  optDurationInput(name: string): number | string | undefined {
    return this.with(name, (idx, describe) => {
      const L = this.L;
      const t = lua.lua_type(L, idx);
      if (t === LUA_TNUMBER) return lua.lua_tonumber(L, idx) as number;
      if (t === LUA_TSTRING) return decodeUtf8Strict(toBytes(L, idx)) ?? '';
      return this.fail(`invalid type: ${describe()}, expected a duration`);
    });
  }
}
