/**
 * Message methods of lua-api-more.md §5: DKIM signing and verification,
 * Authentication-Results, ARC. They all work on the message data as it is at
 * the call, so a policy runs them after its other edits.
 */
import { lua, type LuaCFunction, type LuaState, LUA_TSTRING } from '../lua/fengari.ts';
import { argString } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { encodeText, toText } from '../lua/strings.ts';
import type { LuaReturn } from '../lua/host-function.ts';
import type { MethodMaker } from './lua-binding.ts';
import { DkimSignerClass } from '../kumo/dkim.ts';
import { dkimSignatureHeader } from '../auth/dkim-sign.ts';
import { verifyDkim } from '../auth/dkim-verify.ts';
import { arcSealHeaders, verifyArc } from '../auth/arc.ts';
import { authenticationResultJson, authenticationResultsHeader, parseAuthenticationResults, type AuthenticationResult } from '../auth/authentication-results.ts';
import { authResolver } from '../auth/dns-port.ts';
import { insertAtStart } from './headers.ts';
import { messageClockNow } from './lua-context.ts';

/** An optional resolver name argument (nil/none = the default resolver). */
export function optResolverName(L: LuaState, idx: number): string | undefined {
  return lua.lua_type(L, idx) === LUA_TSTRING ? toText(L, idx) : undefined;
}

function pushAuthenticationResult(result: AuthenticationResult): LuaReturn {
  return (L) => (pushJson(L, authenticationResultJson(result)), 1);
}

export function pushAuthenticationResults(results: readonly AuthenticationResult[]): LuaReturn {
  return (L) => (pushJson(L, results.map(authenticationResultJson)), 1);
}

export function authMethods(method: MethodMaker): Record<string, LuaCFunction> {
  return {
    dkim_sign: method('dkim_sign', (L, msg) => {
      const signer = DkimSignerClass.check(L, 2);
      const now = messageClockNow(L);
      return () => {
        const header = dkimSignatureHeader(msg.getData(), signer, now);
        msg.setData(insertAtStart(msg.getData(), encodeText(header)));
      };
    }),
    dkim_verify: method('dkim_verify', (L, msg) => {
      const resolve = authResolver(optResolverName(L, 2));
      const now = messageClockNow(L);
      return async () => pushAuthenticationResults(await verifyDkim(msg.getData(), resolve, now));
    }),
    add_authentication_results: method('add_authentication_results', (L, msg) => {
      const servId = argString(L, 2);
      const results = parseAuthenticationResults(toJson(L, 3));
      return () => msg.setData(insertAtStart(msg.getData(), encodeText(authenticationResultsHeader(servId, results))));
    }),
    arc_verify: method('arc_verify', (L, msg) => {
      const resolve = authResolver(optResolverName(L, 2));
      const now = messageClockNow(L);
      return async () => pushAuthenticationResult(await verifyArc(msg.getData(), resolve, now));
    }),
    arc_seal: method('arc_seal', (L, msg) => {
      const signer = DkimSignerClass.check(L, 2);
      const servId = argString(L, 3);
      const results = parseAuthenticationResults(toJson(L, 4));
      const resolve = authResolver(optResolverName(L, 5));
      const now = messageClockNow(L);
      return async () => {
        const headers = await arcSealHeaders(msg.getData(), signer, servId, results, resolve, now);
        if (headers !== undefined) msg.setData(insertAtStart(msg.getData(), encodeText(headers)));
      };
    }),
  };
}
