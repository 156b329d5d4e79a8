/**
 * kumo.string (clients.md §7, lua-api.md §13.5): Rust `str` semantics with
 * literal (not pattern) matching. Lists come back as plain tables without the
 * array marker, so an empty list JSON-encodes as `{}`.
 */
import { lazyRequire } from '../util/lazy-require.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argBytes, argInteger, argString, isNoneOrNil, optInteger, optString } from '../lua/args.ts';
import { pushBytes, pushText } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { rustReplace, rustRsplit, rustSplit, splitAsciiWhitespace, splitWhitespace, trim, trimEnd, trimStart, wrapBytes } from './support/rust-str.ts';
import { luaToSerde, serdeToJson } from './support/lua-value.ts';
import { argText } from './support/text-args.ts';
import { pslDomain, pslSuffix } from './support/psl.ts';
import { renderHandlebars } from './support/handlebars-template.ts';
import { JsonFloat, type JsonValue } from '../util/json.ts';

const minijinja = lazyRequire<typeof import('minijinja-js')>('minijinja-js');

function pushList(L: LuaState, items: string[]): number {
  lua.lua_createtable(L, items.length, 0);
  items.forEach((item, i) => {
    pushText(L, item);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
}

function pushOptText(L: LuaState, value: string | null): number {
  if (value === null) lua.lua_pushnil(L);
  else pushText(L, value);
  return 1;
}

function text(fn: (L: LuaState) => string) {
  return (L: LuaState): number => {
    pushText(L, fn(L));
    return 1;
  };
}

function list(fn: (L: LuaState) => string[]) {
  return (L: LuaState): number => pushList(L, fn(L));
}

function limitArg(L: LuaState, i: number): number {
  const n = argInteger(L, i);
  if (n < 0) throw new Error(`bad argument #${i}: error converting Lua integer to usize (out of range)`);
  return n;
}

function bytesStartWith(s: Uint8Array, prefix: Uint8Array, offset: number): boolean {
  if (offset < 0) return false;
  for (let i = 0; i < prefix.length; i++) if (s[offset + i] !== prefix[i]) return false;
  return true;
}

/** minijinja-js reads plain JS values; JsonFloat boxes become numbers. */
function plain(v: JsonValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

function evalTemplate(L: LuaState): number {
  const name = argString(L, 1);
  const source = argString(L, 2);
  const context = isNoneOrNil(L, 3) ? {} : plain(serdeToJson(luaToSerde(L, 3, { materialize: true })));
  const dialect = optString(L, 4) ?? 'Jinja';
  if (dialect === 'Static') {
    pushText(L, source);
    return 1;
  }
  if (dialect === 'Handlebars') {
    pushText(L, renderHandlebars(name, source, context));
    return 1;
  }
  if (dialect !== 'Jinja') throw new Error(`kumo.string.eval_template: unknown dialect ${dialect} (expected Jinja, Static or Handlebars)`);
  const env = new (minijinja().Environment)();
  pushText(L, env.renderNamedStr(name, source, context));
  return 1;
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  kumo.sub('string').fns({
    replace: text((L) => rustReplace(argText(L, 1), argText(L, 2), argText(L, 3))),
    replacen: text((L) => rustReplace(argText(L, 1), argText(L, 2), argText(L, 3), limitArg(L, 4))),
    split: list((L) => rustSplit(argText(L, 1), argText(L, 2))),
    splitn: list((L) => rustSplit(argText(L, 1), argText(L, 3), limitArg(L, 2))),
    rsplit: list((L) => rustRsplit(argText(L, 1), argText(L, 2))),
    rsplitn: list((L) => rustRsplit(argText(L, 1), argText(L, 3), limitArg(L, 2))),
    split_whitespace: list((L) => splitWhitespace(argText(L, 1))),
    split_ascii_whitespace: list((L) => splitAsciiWhitespace(argText(L, 1))),
    trim: text((L) => trim(argText(L, 1))),
    trim_start: text((L) => trimStart(argText(L, 1))),
    trim_end: text((L) => trimEnd(argText(L, 1))),
    starts_with: (L) => {
      lua.lua_pushboolean(L, bytesStartWith(argBytes(L, 1), argBytes(L, 2), 0));
      return 1;
    },
    ends_with: (L) => {
      const s = argBytes(L, 1);
      const suffix = argBytes(L, 2);
      lua.lua_pushboolean(L, bytesStartWith(s, suffix, s.length - suffix.length));
      return 1;
    },
    wrap: (L) => {
      const input = argBytes(L, 1);
      pushBytes(L, wrapBytes(input, optInteger(L, 2) ?? 75, optInteger(L, 3) ?? 900));
      return 1;
    },
    eval_template: evalTemplate,
    psl_domain: (L) => pushOptText(L, pslDomain(argText(L, 1))),
    psl_suffix: (L) => pushOptText(L, pslSuffix(argText(L, 1))),
    normalize_smtp_response: () => {
      throw new Error('kumo.string.normalize_smtp_response is not provided by kumo-lua');
    },
  });
}
