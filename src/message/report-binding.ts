/** `msg:parse_rfc3464()` and `msg:parse_rfc5965()` for the Message userdata (lua-api-more.md §7.4). */
import type { LuaCFunction, LuaState } from '../lua/fengari.ts';
import { pushJson } from '../lua/marshal.ts';
import type { Message } from './message.ts';
import { parseRfc3464, parseRfc5965 } from './report-parsing.ts';

export function reportMethods(check: (L: LuaState, idx: number) => Message): Record<string, LuaCFunction> {
  return {
    parse_rfc3464: (L) => (pushJson(L, parseRfc3464(check(L, 1).getData()) ?? undefined), 1),
    parse_rfc5965: (L) => (pushJson(L, parseRfc5965(check(L, 1).getData()) ?? undefined), 1),
  };
}
