/**
 * kumo.uuid (lua-api.md §13.7): new_v1/v4/v6/v7 and parse, returning Uuid
 * userdata with `hyphenated`, `simple`, `braced`, `urn` and `bytes` fields.
 */
import { v1, v4, v6, v7 } from 'uuid';
import { LuaClass } from '../lua/userdata.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString } from '../lua/args.ts';
import { pushBytes, pushText } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

export class Uuid {
  /** 32 lowercase hex digits */
  constructor(readonly hex: string) {}
  get hyphenated(): string {
    const h = this.hex;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** Accepts the forms Rust's uuid crate parses: simple, hyphenated, braced and urn. */
export function parseUuid(text: string): Uuid {
  let body = text;
  if (body.toLowerCase().startsWith('urn:uuid:')) body = body.slice(9);
  else if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1);
  const hyphenated = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(body);
  const simple = /^[0-9a-fA-F]{32}$/.test(body);
  if (!hyphenated && !simple) throw new Error(`invalid UUID ${JSON.stringify(text)}: expected 32 hex digits, optionally hyphenated, braced or as urn:uuid:`);
  return new Uuid(body.replace(/-/g, '').toLowerCase());
}

function textField(get: (u: Uuid) => string) {
  return (L: LuaState, u: Uuid): number => {
    pushText(L, get(u));
    return 1;
  };
}

export const UUID = new LuaClass<Uuid>({
  name: 'Uuid',
  fields: {
    hyphenated: textField((u) => u.hyphenated),
    simple: textField((u) => u.hex),
    braced: textField((u) => `{${u.hyphenated}}`),
    urn: textField((u) => `urn:uuid:${u.hyphenated}`),
    bytes: (L, u) => {
      pushBytes(L, Uint8Array.from(Buffer.from(u.hex, 'hex')));
      return 1;
    },
  },
  meta: {
    __tostring: (L) => {
      pushText(L, UUID.check(L, 1).hyphenated);
      return 1;
    },
    __eq: (L) => {
      const a = UUID.test(L, 1);
      const b = UUID.test(L, 2);
      lua.lua_pushboolean(L, !!a && !!b && a.hex === b.hex);
      return 1;
    },
  },
});

function maker(make: () => string) {
  return (L: LuaState): number => {
    UUID.push(L, parseUuid(make()));
    return 1;
  };
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  kumo.sub('uuid').fns({
    new_v1: maker(() => v1()),
    new_v4: maker(() => v4()),
    new_v6: maker(() => v6()),
    new_v7: maker(() => v7()),
    parse: (L) => {
      UUID.push(L, parseUuid(argString(L, 1)));
      return 1;
    },
  });
}
