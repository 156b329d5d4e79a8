/**
 * `kumo.make_listener_domain{...}` (lua-api-more.md §2.1): strict, returns
 * userdata that reads like a table with the dispositions as their names.
 */
import type { LuaState } from '../lua/fengari.ts';
import { lua } from '../lua/fengari.ts';
import { ListenerDomain, parseListenerDomain } from '../server/smtp/listener-domain.ts';
import { configClass, ConfigObject, parseTableArg } from './config.ts';
import type { ModuleTable } from './module-table.ts';

export const ListenerDomainClass = configClass<ListenerDomain>('ListenerDomain');

/** A `get_listener_domain` result: the ListenerDomain, null for nil, else an error naming what came back. */
export function listenerDomainFromLua(L: LuaState, idx: number): ListenerDomain | null {
  if (lua.lua_isnoneornil(L, idx)) return null;
  const obj = ListenerDomainClass.test(L, idx);
  if (obj) return obj.config;
  throw new Error(`get_listener_domain must return kumo.make_listener_domain{...} or nil, got ${lua.lua_typename(L, lua.lua_type(L, idx))}`);
}

export function registerListenerDomain(kumo: ModuleTable): void {
  kumo.fn('make_listener_domain', (L) => {
    const parsed = parseTableArg(L, (obj) => parseListenerDomain(obj));
    ListenerDomainClass.push(L, new ConfigObject(parsed.config, parsed.config.toJson()));
    return 1;
  });
}
