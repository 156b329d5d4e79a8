/**
 * kumo.xfer (lua-api-more.md §3.13). kumo-lua runs a single node, so there is
 * no other node to move a message to: `xfer_in_requeue` checks its arguments
 * as KumoMTA would use them, then leaves the message in its queue here and
 * says so once (info). `xfer`, `cancel_xfer` and `get_xfer_target` stay not
 * provided (unsupported.ts).
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, isNoneOrNil, typeNameOrNone } from '../lua/args.ts';
import { MessageClass } from '../message/lua-binding.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

const FN = 'kumo.xfer.xfer_in_requeue';

/** An http(s) URL prefix: scheme, host and optional port, no path beyond '/', no query. */
export function checkTargetUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${FN}: target_url ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${FN}: target_url ${text} must be http or https`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new Error(`${FN}: target_url ${text} must be a prefix without path or query`);
  return url;
}

function expectType(L: LuaState, idx: number, name: string, ok: boolean, want: string): void {
  if (!ok) throw new Error(`${FN}: ${name} must be ${want}, got ${typeNameOrNone(L, idx)}`);
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  let told = false;
  kumo.sub('xfer').fn('xfer_in_requeue', (L) => {
    MessageClass.check(L, 1);
    const target = checkTargetUrl(argString(L, 2));
    const t3 = lua.lua_type(L, 3);
    expectType(L, 3, 'insert_context', t3 === lua.LUA_TTABLE || t3 === lua.LUA_TSTRING || t3 <= lua.LUA_TNIL, 'the requeue_message insert_context');
    expectType(L, 4, 'increment_attempts', lua.lua_type(L, 4) === lua.LUA_TBOOLEAN, 'a boolean');
    const t5 = lua.lua_type(L, 5);
    expectType(L, 5, 'delay', t5 <= lua.LUA_TNIL || t5 === lua.LUA_TSTRING || t5 === lua.LUA_TNUMBER, 'nil or a duration');
    if (!isNoneOrNil(L, 6)) argString(L, 6);
    if (!told) {
      told = true;
      ctx.log.write('info', `${FN}: kumo-lua runs a single node, so messages are not transferred (to ${target.origin} or elsewhere); they stay in their queue here`);
    }
    return 0;
  });
}
