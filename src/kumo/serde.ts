/**
 * kumo.serde: JSON, TOML and YAML (clients.md §6, lua-api.md §13.1, §14),
 * plus the legacy `kumo.json_*` / `kumo.toml_*` aliases.
 */
import { readFile } from 'node:fs/promises';
import { lauxlib, lua, type LuaState } from '../lua/fengari.ts';
import { hostIndex, hostPush } from '../lua/host-values.ts';
import { luaFromJsonText } from '../lua/json-reader.ts';
import { arrayMarkerTable } from '../lua/marshal.ts';
import { compactJsonOf } from '../lua/json-writer.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argString } from '../lua/args.ts';
import { pushJsonArrays } from './support/push-json.ts';
import { decodeUtf8Strict, pushText, toBytes } from '../lua/strings.ts';
import type { JsonValue } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { luaToSerde, type SerdeValue } from './support/lua-value.ts';
import { parseJson, stripJsonComments, writeJson } from './support/json-text.ts';
import { serdeToToml, tomlToJson } from './support/toml-codec.ts';
import { serdeToYaml, yamlToJson } from './support/yaml-codec.ts';
import { osErrorText } from './support/os-error.ts';

type Parser = (text: string) => JsonValue;

const FORMATS: Record<'json' | 'toml' | 'yaml', Parser> = {
  // Comments start with '#' or '/': text without either (most JSON) skips the copying strip.
  json: (text) => parseJson(/[#/]/.test(text) ? stripJsonComments(text) : text),
  toml: tomlToJson,
  yaml: yamlToJson,
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parses `text`, naming it in the error as KumoMTA does (`parsing <what> as json: ...`). */
export function parseFormat(format: keyof typeof FORMATS, text: string, what: string): JsonValue {
  try {
    return FORMATS[format](text);
  } catch (err) {
    throw new Error(`parsing ${what} as ${format}: ${messageOf(err)}`);
  }
}

/** The argument as the materialised copy json_encode and friends work on. */
function materialized(L: LuaState): SerdeValue {
  return luaToSerde(L, 1, { materialize: true });
}

function parser(format: keyof typeof FORMATS) {
  return (L: LuaState): number => {
    const text = argString(L, 1);
    if (format !== 'json' || !pushParsedJson(L, text)) pushJsonArrays(L, parseFormat(format, text, text));
    return 1;
  };
}

/**
 * json_parse straight to Lua tables (json-reader.ts); false when the general
 * parser must run (unusual key order, duplicate keys, errors).
 */
function pushParsedJson(L: LuaState, text: string): boolean {
  lauxlib.luaL_checkstack(L, 3, null);
  const marker = arrayMarkerTable(L);
  const bytes = toBytes(L, 1);
  // A comment is a syntax error to the reader: only then is the text stripped and read again.
  let v = luaFromJsonText(L, text, marker, bytes);
  if (v === false && /[#/]/.test(text)) {
    let stripped: string;
    try {
      stripped = stripJsonComments(text);
    } catch {
      return false;
    }
    v = luaFromJsonText(L, stripped, marker, bytes);
  }
  if (v === false) return false;
  if (v === undefined) lua.lua_pushnil(L);
  else hostPush(L, v);
  return true;
}

function loader(format: keyof typeof FORMATS, name: string) {
  return asyncFunction(name, async (L) => {
    const path = argString(L, 1);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`reading file ${path}: ${osErrorText(err)}`);
    }
    const text = decodeUtf8Strict(bytes);
    if (text === undefined) throw new Error(`parsing ${path} as ${format}: stream did not contain valid UTF-8`);
    const value = parseFormat(format, text, path);
    return (Lr: LuaState) => {
      pushJsonArrays(Lr, value);
      return 1;
    };
  });
}

/** json_encode: written straight from the Lua value when it can be (json-writer.ts), else through the serde tree. */
function jsonEncode(L: LuaState): number {
  const text = lua.lua_gettop(L) >= 1 ? compactJsonOf(hostIndex(L, 1)) : undefined;
  pushText(L, text ?? writeJson(materialized(L), false));
  return 1;
}

function encoder(encode: (v: SerdeValue) => string) {
  return (L: LuaState): number => {
    pushText(L, encode(materialized(L)));
    return 1;
  };
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  const serde = kumo.sub('serde');
  serde.fns({
    json_parse: parser('json'),
    json_load: loader('json', 'kumo.serde.json_load'),
    json_encode: jsonEncode,
    json_encode_pretty: encoder((v) => writeJson(v, true)),
    toml_parse: parser('toml'),
    toml_load: loader('toml', 'kumo.serde.toml_load'),
    toml_encode: encoder((v) => serdeToToml(v)),
    toml_encode_pretty: encoder((v) => serdeToToml(v)),
    toml_encode_pretty_compact: encoder((v) => serdeToToml(v, true)),
    yaml_parse: parser('yaml'),
    yaml_load: loader('yaml', 'kumo.serde.yaml_load'),
    yaml_encode: encoder(serdeToYaml),
  });
  for (const name of ['json_load', 'json_parse', 'json_encode', 'json_encode_pretty', 'toml_load', 'toml_parse', 'toml_encode', 'toml_encode_pretty']) {
    kumo.alias(name, serde, name);
  }
}
