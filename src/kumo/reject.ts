/**
 * `kumo.reject` / `kumo.disconnect`: a structured error the engine and the
 * listeners recognise by its payload, and a plain error to everything else
 * (lua-api.md §10). It survives pcall + error(e) re-raising because the Lua
 * value is the same userdata.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { argInteger, argString, optString } from '../lua/args.ts';
import { pushText } from '../lua/strings.ts';
import type { LuaRaisable } from '../lua/errors.ts';
import type { ModuleTable } from './module-table.ts';

export type DisconnectMode = 'If421' | 'FollowWith421' | 'ForceDisconnect';

export class Rejection extends Error implements LuaRaisable {
  override name = 'Rejection';
  constructor(
    readonly code: number,
    readonly text: string,
    readonly mode: DisconnectMode = 'If421',
  ) {
    super(`${code} ${text}`);
  }

  pushLuaError(L: LuaState): void {
    RejectionClass.push(L, this);
  }

  /** custom_lua rule: only 4xx is transient. */
  get isTransient(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}

const RejectionClass: LuaClass<Rejection> = new LuaClass<Rejection>({
  name: 'Rejection',
  fields: {
    code: (L, r) => (lua.lua_pushinteger(L, r.code), 1),
    message: (L, r) => (pushText(L, r.text), 1),
  },
  meta: {
    __tostring: (L) => {
      pushText(L, RejectionClass.check(L, 1).message);
      return 1;
    },
    __concat: (L) => {
      const text = (i: number) => {
        const r = RejectionClass.test(L, i);
        return r ? r.message : argString(L, i);
      };
      pushText(L, text(1) + text(2));
      return 1;
    },
  },
});

/** The Rejection carried by an error from Lua, if it is one. */
export function asRejection(payload: unknown): Rejection | undefined {
  return payload instanceof Rejection ? payload : undefined;
}

const MODES: ReadonlySet<string> = new Set(['If421', 'FollowWith421', 'ForceDisconnect']);

export function register(kumo: ModuleTable): void {
  kumo.fn('reject', (L) => {
    throw new Rejection(argInteger(L, 1), argString(L, 2), 'If421');
  });
  kumo.fn('disconnect', (L) => {
    const mode = optString(L, 3) ?? 'ForceDisconnect';
    if (!MODES.has(mode)) throw new Error(`kumo.disconnect: unknown mode '${mode}', expected If421, FollowWith421 or ForceDisconnect`);
    throw new Rejection(argInteger(L, 1), argString(L, 2), mode as DisconnectMode);
  });
}
