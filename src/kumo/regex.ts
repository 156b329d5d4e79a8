/**
 * kumo.regex (lua-api.md §13.4): Rust/fancy-regex patterns compiled to JS
 * RegExp (see support/rust-regex.ts), with Rust's replacement syntax
 * (`$1`, `$name`, `${name}`, `$$`) and splitting rules.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { argInteger, argString } from '../lua/args.ts';
import { keyBytes, pushText } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { escapeRustRegex, translateRustRegex } from './support/rust-regex.ts';
import { argText } from './support/text-args.ts';

export class Regex {
  private readonly global: RegExp;
  constructor(
    readonly pattern: string,
    source: string,
    flags: string,
  ) {
    this.global = new RegExp(source, `${flags}g`);
  }

  /** Every match, left to right; `limit` 0 means all. */
  matches(haystack: string, limit = 0): RegExpExecArray[] {
    const out: RegExpExecArray[] = [];
    const re = this.global;
    re.lastIndex = 0;
    for (let guard = 0; guard <= haystack.length + 1; guard++) {
      const m = re.exec(haystack);
      if (!m) break;
      out.push(m);
      if (limit > 0 && out.length >= limit) break;
      if (m[0] === '') re.lastIndex = m.index + (haystack.codePointAt(m.index)! > 0xffff ? 2 : 1);
      if (re.lastIndex > haystack.length) break;
    }
    re.lastIndex = 0;
    return out;
  }

  first(haystack: string): RegExpExecArray | undefined {
    return this.matches(haystack, 1)[0];
  }

  replace(haystack: string, replacement: string, limit: number): string {
    let out = '';
    let last = 0;
    for (const m of this.matches(haystack, limit)) {
      out += haystack.slice(last, m.index) + expandReplacement(replacement, m);
      last = m.index + m[0].length;
    }
    return out + haystack.slice(last);
  }

  split(haystack: string): string[] {
    const pieces: string[] = [];
    let last = 0;
    for (const m of this.matches(haystack)) {
      pieces.push(haystack.slice(last, m.index));
      last = m.index + m[0].length;
    }
    pieces.push(haystack.slice(last));
    return pieces;
  }
}

/** Rust regex's `Captures::expand`: `$name` takes the longest run of [_0-9A-Za-z]. */
export function expandReplacement(rep: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    if (rep[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    if (rep[i + 1] === '{') {
      const end = rep.indexOf('}', i + 2);
      if (end > i + 2) {
        name = rep.slice(i + 2, end);
        i = end;
      }
    } else {
      const run = /^[_0-9A-Za-z]+/.exec(rep.slice(i + 1));
      if (run) {
        name = run[0];
        i += run[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    const group = /^[0-9]+$/.test(name) ? m[Number(name)] : m.groups?.[name];
    out += group ?? '';
  }
  return out;
}

function pushList(L: LuaState, items: string[]): number {
  lua.lua_createtable(L, items.length, 0);
  items.forEach((s, i) => {
    pushText(L, s);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
}

export const REGEX: LuaClass<Regex> = new LuaClass<Regex>({
  name: 'Regex',
  methods: {
    is_match: (L) => {
      lua.lua_pushboolean(L, REGEX.check(L, 1).first(argText(L, 2)) !== undefined);
      return 1;
    },
    find: (L) => {
      const m = REGEX.check(L, 1).first(argText(L, 2));
      if (m) pushText(L, m[0]);
      else lua.lua_pushnil(L);
      return 1;
    },
    find_all: (L) => pushList(L, REGEX.check(L, 1).matches(argText(L, 2)).map((m) => m[0])),
    captures: (L) => {
      const m = REGEX.check(L, 1).first(argText(L, 2));
      if (!m) {
        lua.lua_pushnil(L);
        return 1;
      }
      lua.lua_createtable(L, m.length, 0);
      m.forEach((g, i) => {
        if (g === undefined) return;
        pushText(L, g);
        lua.lua_rawseti(L, -2, i);
      });
      for (const [name, g] of Object.entries(m.groups ?? {})) {
        if (g === undefined) continue;
        pushText(L, g);
        lua.lua_setfield(L, -2, keyBytes(name));
      }
      return 1;
    },
    replace: (L) => {
      pushText(L, REGEX.check(L, 1).replace(argText(L, 2), argText(L, 3), 1));
      return 1;
    },
    replace_all: (L) => {
      pushText(L, REGEX.check(L, 1).replace(argText(L, 2), argText(L, 3), 0));
      return 1;
    },
    replacen: (L) => {
      const re = REGEX.check(L, 1);
      const haystack = argText(L, 2);
      const limit = argInteger(L, 3);
      pushText(L, re.replace(haystack, argText(L, 4), Math.max(0, limit)));
      return 1;
    },
    split: (L) => pushList(L, REGEX.check(L, 1).split(argText(L, 2))),
  },
  meta: {
    __tostring: (L) => {
      pushText(L, REGEX.check(L, 1).pattern);
      return 1;
    },
  },
});

export function compileRegex(pattern: string): Regex {
  const { source, flags } = translateRustRegex(pattern);
  return new Regex(pattern, source, flags);
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  kumo.sub('regex').fns({
    compile: (L) => {
      REGEX.push(L, compileRegex(argString(L, 1)));
      return 1;
    },
    escape: (L) => {
      pushText(L, escapeRustRegex(argText(L, 1)));
      return 1;
    },
  });
}
