/**
 * kumo.make_egress_source / kumo.make_egress_pool (lua-api-more.md §1.1,
 * §1.2), the `get_egress_source` / `get_egress_pool` events behind the
 * engine's EgressResolver (§1.3), and kumo.invoke_get_egress_source / _pool
 * (§3.10). Sources and pools are opaque userdata, as in KumoMTA's code: no
 * fields, no pairs, not serialisable.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, isNoneOrNil } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson, typeNameAt } from '../lua/marshal.ts';
import { pushText, toText } from '../lua/strings.ts';
import { LuaClass } from '../lua/userdata.ts';
import { parseEgressPool, egressPoolToJson, type EgressPool } from '../egress/pool.ts';
import { parseEgressSource, egressSourceToJson, type EgressSource } from '../egress/source.ts';
import { EgressResolver, type EgressDefinitions } from '../egress/resolve.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import { parseTableArg } from './config.ts';
import type { ModuleTable } from './module-table.ts';

/** The process-wide resolver: the engine selects sources through it, invoke_get_* reads it. */
export const EGRESS_RESOLVER = new ServiceSlot<EgressResolver>('the egress source resolver');

function opaqueClass<T>(name: string): LuaClass<T> {
  return new LuaClass<T>({
    name,
    meta: {
      __index: (L: LuaState) => {
        const key = lua.lua_type(L, 2) === lua.LUA_TSTRING ? toText(L, 2) : typeNameAt(L, 2);
        throw new Error(`${name} is opaque: its field '${key}' cannot be read`);
      },
    },
  });
}

export const EgressSourceClass = opaqueClass<EgressSource>('EgressSource');
export const EgressPoolClass = opaqueClass<EgressPool>('EgressPool');

function converted<T>(L: LuaState, n: number, cls: LuaClass<T>, event: string): T {
  const obj = n > 0 ? cls.test(L, 1) : undefined;
  if (obj) return obj;
  const got = n > 0 ? typeNameAt(L, 1) : 'no value';
  throw new Error(`error converting Lua ${got} to userdata ${cls.spec.name}: ${event} must return kumo.make_${event.slice(4)}{...}`);
}

/** Fires the single-handler events in the policy's state. */
export function luaEgressDefinitions(ctx: KumoContext): EgressDefinitions {
  const fire = async <T>(event: string, name: string, cls: LuaClass<T>): Promise<T> => {
    const r = await ctx.events.dispatch(
      event,
      (co) => (pushText(co, name), 1),
      (co, n) => converted(co, n, cls, event),
    );
    if (!r.handled) throw new Error(`Event ${event} has not been registered`);
    return r.value;
  };
  return {
    source: (name) => fire('get_egress_source', name, EgressSourceClass),
    pool: (name) => fire('get_egress_pool', name, EgressPoolClass),
  };
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const resolver = new EgressResolver(ctx.clock, luaEgressDefinitions(ctx));
  ctx.provide(EGRESS_RESOLVER, resolver);

  kumo.fn('make_egress_source', (L) => {
    EgressSourceClass.push(L, parseTableArg(L, parseEgressSource).config);
    return 1;
  });
  kumo.fn('make_egress_pool', (L) => {
    EgressPoolClass.push(L, parseTableArg(L, parseEgressPool).config);
    return 1;
  });
  kumo.fn(
    'invoke_get_egress_source',
    asyncFunction('kumo.invoke_get_egress_source', async (L) => {
      const name = argString(L, 1);
      const source = await resolver.source(name);
      return (Lr) => (pushJson(Lr, egressSourceToJson(source), { nullSentinel: true }), 1);
    }),
  );
  kumo.fn(
    'invoke_get_egress_pool',
    asyncFunction('kumo.invoke_get_egress_pool', async (L) => {
      const name = isNoneOrNil(L, 1) ? null : argString(L, 1);
      const pool = await resolver.pool(name);
      return (Lr) => (pushJson(Lr, egressPoolToJson(pool), { nullSentinel: true }), 1);
    }),
  );
}
