/**
 * KeySource (clients.md §5): where a secret comes from. Read from Lua
 * synchronously (`readKeySource`), resolved asynchronously (`resolveKeySource`).
 *   'path'                              -> the file's bytes
 *   { key_data = 'bytes' | {byte,...} } -> those bytes
 *   { vault_mount, vault_path, ... }    -> not provided by kumo-lua (clear error)
 *   { event_name, event_args }          -> the string returned by that kumo.on handler
 */
import { readFile } from 'node:fs/promises';
import { lua, type LuaState, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE } from '../../lua/fengari.ts';
import { keyBytes, toBytes, decodeText } from '../../lua/strings.ts';
import { pushJson } from '../../lua/marshal.ts';
import type { JsonValue } from '../../util/json.ts';
import type { KumoContext } from '../context.ts';
import { luaToSerde, serdeToJson } from './lua-value.ts';
import { writeJson } from './json-text.ts';
import { osErrorText } from './os-error.ts';

export type KeySource =
  | { kind: 'file'; path: string }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'vault'; mount: string; path: string; key: string }
  | { kind: 'event'; name: string; args: JsonValue[] };

export class KeySourceError extends Error {}

function describe(L: LuaState, idx: number): string {
  try {
    return writeJson(luaToSerde(L, idx, { materialize: true }), false);
  } catch {
    return '<unrepresentable value>';
  }
}

function noMatch(L: LuaState, idx: number): never {
  throw new KeySourceError(`data did not match any variant of untagged enum KeySource, while processing ${describe(L, idx)}`);
}

/** Reads a field of the table at idx; leaves nothing on the stack. */
function field<T>(L: LuaState, idx: number, name: string, read: (type: number) => T): T {
  const t = lua.lua_getfield(L, idx, keyBytes(name));
  try {
    return read(t);
  } finally {
    lua.lua_pop(L, 1);
  }
}

function optText(L: LuaState, idx: number, name: string): string | undefined {
  return field(L, idx, name, (t) => (t === LUA_TSTRING ? decodeText(toBytes(L, -1)) : undefined));
}

function byteArray(L: LuaState, tableIdx: number): Uint8Array | undefined {
  const n = lua.lua_rawlen(L, tableIdx) as number;
  const out = new Uint8Array(n);
  for (let i = 1; i <= n; i++) {
    const t = lua.lua_rawgeti(L, tableIdx, i);
    const ok = t === LUA_TNUMBER && lua.lua_isinteger(L, -1);
    const v = ok ? (lua.lua_tointeger(L, -1) as number) : -1;
    lua.lua_pop(L, 1);
    if (v < 0 || v > 255) return undefined;
    out[i - 1] = v;
  }
  return out;
}

/** Reads a KeySource from the Lua value at idx (call before any await). */
export function readKeySource(L: LuaState, idx: number): KeySource {
  const abs = lua.lua_absindex(L, idx);
  const type = lua.lua_type(L, abs);
  if (type === LUA_TSTRING) return { kind: 'file', path: decodeText(toBytes(L, abs)) };
  if (type !== LUA_TTABLE) noMatch(L, abs);

  const data = field(L, abs, 'key_data', (t) => {
    if (t === LUA_TSTRING) return Uint8Array.from(toBytes(L, -1));
    if (t === LUA_TTABLE) return byteArray(L, lua.lua_gettop(L)) ?? null;
    return t === LUA_TNIL ? undefined : null;
  });
  if (data) return { kind: 'data', bytes: data };

  const mount = optText(L, abs, 'vault_mount');
  const vaultPath = optText(L, abs, 'vault_path');
  if (mount !== undefined && vaultPath !== undefined) {
    return { kind: 'vault', mount, path: vaultPath, key: optText(L, abs, 'vault_key') ?? 'key' };
  }

  const eventName = optText(L, abs, 'event_name');
  if (eventName !== undefined) {
    const args = field(L, abs, 'event_args', (t) => {
      if (t === LUA_TNIL) return [];
      if (t !== LUA_TTABLE) return undefined;
      const top = lua.lua_gettop(L);
      const n = lua.lua_rawlen(L, top) as number;
      const out: JsonValue[] = [];
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, top, i);
        out.push(serdeToJson(luaToSerde(L, -1, { materialize: false })));
        lua.lua_pop(L, 1);
      }
      return out;
    });
    if (args) return { kind: 'event', name: eventName, args };
  }
  return noMatch(L, abs);
}

/** The secret's bytes. */
export async function resolveKeySource(source: KeySource, ctx: KumoContext): Promise<Uint8Array> {
  switch (source.kind) {
    case 'data':
      return source.bytes;
    case 'file':
      try {
        return new Uint8Array(await readFile(source.path));
      } catch (err) {
        throw new KeySourceError(`KeySource failed to load data from file \`${source.path}\`: ${osErrorText(err)}`);
      }
    case 'vault':
      throw new KeySourceError(
        `KeySource: HashiCorp Vault (vault_mount=${source.mount}, vault_path=${source.path}) is not provided by kumo-lua; ` +
          'use { key_data = ... }, a file path, or { event_name = ... }',
      );
    case 'event': {
      const result = await ctx.events.dispatch(
        source.name,
        (co) => {
          for (const a of source.args) pushJson(co, a, { arrayMarker: true });
          return source.args.length;
        },
        (co, n) => (n > 0 && lua.lua_type(co, 1) === LUA_TSTRING ? Uint8Array.from(toBytes(co, 1)) : undefined),
      );
      if (!result.handled) throw new KeySourceError(`Event ${source.name} has not been registered`);
      if (!result.value) throw new KeySourceError(`KeySource event ${source.name} must return a string`);
      return result.value;
    }
  }
}
