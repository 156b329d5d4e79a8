/**
 * kumo.aaa (lua-api-more.md §3.8): the accounting log and the ACL cache
 * knobs. `configure_acct_log` is a process singleton (a second call raises);
 * listeners that authenticate report through the ACCT_LOG service. ACLs
 * (make_access_control_list, load_acl_map, get_acl_definition) are in acl.ts.
 */
import { lua } from '../lua/fengari.ts';
import { argString, typeNameOrNone } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { AcctLog, parseAcctLogParams } from '../logging/acct-log.ts';
import { parseDuration } from '../util/duration.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import { parseTableArg } from './config.ts';
import type { ModuleTable } from './module-table.ts';
import { aclSettings, registerAcl } from './acl.ts';

export const ACCT_LOG = new ServiceSlot<AcctLog>('the accounting log (kumo.aaa.configure_acct_log)');

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const aaa = kumo.sub('aaa');
  registerAcl(aaa, ctx);
  let configured = false;
  aaa.fn(
    'configure_acct_log',
    asyncFunction('kumo.aaa.configure_acct_log', async (L) => {
      const params = parseTableArg(L, parseAcctLogParams).config;
      if (configured) throw new Error('kumo.aaa.configure_acct_log: the accounting log is already configured');
      configured = true;
      const log = new AcctLog(params, ctx.clock);
      if (!ctx.mode.validating) await log.start();
      ctx.provide(ACCT_LOG, log);
    }),
  );
  for (const name of ['set_acl_cache_ttl', 'set_check_cache_ttl']) {
    aaa.fn(name, (L) => {
      const t = lua.lua_type(L, 1);
      if (t !== lua.LUA_TNUMBER && t !== lua.LUA_TSTRING) throw new Error(`kumo.aaa.${name}: expected a duration, got ${typeNameOrNone(L, 1)}`);
      parseDuration(t === lua.LUA_TNUMBER ? Number(lua.lua_tonumber(L, 1)) : argString(L, 1), `kumo.aaa.${name}`);
      ctx.log.write('info', `kumo.aaa.${name}: accepted and ignored (kumo-lua has no ACL cache)`);
      return 0;
    });
  }
  aaa.fn('set_fall_back_to_acl_map', (L) => {
    if (lua.lua_type(L, 1) !== lua.LUA_TBOOLEAN) throw new Error(`kumo.aaa.set_fall_back_to_acl_map: expected a boolean, got ${typeNameOrNone(L, 1)}`);
    aclSettings(ctx).fallBackToAclMap = lua.lua_toboolean(L, 1) as boolean;
    return 0;
  });
}
