/**
 * kumo.dmarc.check_msg(msg, dkim_results, opt_resolver_name, spf_result,
 * use_reporting, reporting_info?) (lua-api-more.md §5.5), positional.
 */
import { lua, type LuaState, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { isNoneOrNil, typeNameOrNone } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { toText } from '../lua/strings.ts';
import { isJsonObject } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';
import { Rejection } from './reject.ts';
import { checkMessage } from '../message/lua-binding.ts';
import { addressHeader } from '../message/address-binding.ts';
import { singleMailbox } from '../message/address-headers.ts';
import { checkDmarc, type DmarcRequest } from '../auth/dmarc.ts';
import { authenticationResultJson, parseAuthenticationResult, parseAuthenticationResults, type AuthenticationResult } from '../auth/authentication-results.ts';
import { authResolver } from '../auth/dns-port.ts';

const FN = 'kumo.dmarc.check_msg';

function fromDomain(data: Uint8Array): DmarcRequest['from'] {
  try {
    const header = addressHeader(data, 'From');
    if (!header) return { problem: 'the message has no From header' };
    return { domain: singleMailbox(header.entries).domain };
  } catch (err) {
    return { problem: `From header: ${(err as Error).message}` };
  }
}

/** An AuthenticationResult, or the `{ disposition, result }` kumo.spf returns. */
function readSpfResult(L: LuaState, idx: number): AuthenticationResult | undefined {
  if (isNoneOrNil(L, idx)) return undefined;
  if (lua.lua_type(L, idx) !== LUA_TTABLE) throw new Error(`${FN}: spf_result must be a table, got ${typeNameOrNone(L, idx)}`);
  const json = toJson(L, idx);
  const inner = isJsonObject(json) && 'disposition' in json && isJsonObject(json.result) ? json.result : json;
  return parseAuthenticationResult(inner);
}

export function register(kumo: ModuleTable): void {
  kumo.sub('dmarc').fn(
    'check_msg',
    asyncFunction(FN, (L) => {
      const msg = checkMessage(L, 1);
      const dkim = isNoneOrNil(L, 2) ? [] : parseAuthenticationResults(toJson(L, 2));
      const resolve = authResolver(lua.lua_type(L, 3) === LUA_TSTRING ? toText(L, 3) : undefined);
      const spf = readSpfResult(L, 4);
      if (lua.lua_toboolean(L, 5)) {
        if (isNoneOrNil(L, 6)) throw new Rejection(400, `${FN}: use_reporting is true but no reporting_info was given`);
        throw new Error(`${FN}: DMARC aggregate reporting (use_reporting = true) is not provided by kumo-lua; pass false`);
      }
      const request: DmarcRequest = { from: fromDomain(msg.getData()), dkim, spf };
      return checkDmarc(request, resolve).then((o) => (Lr: LuaState) => {
        pushJson(Lr, { disposition: o.disposition, result: authenticationResultJson(o.result) });
        return 1;
      });
    }),
  );
}
