/**
 * kumo.shaping.load(paths, options?) (lua-api-more §11.3): the merged
 * shaping rules as a Shaping userdata, the engine of policy-extras.shaping.
 * Merging and lookup live in src/shaping/; this file is the Lua glue.
 */
import { lazyRequire } from '../util/lazy-require.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argString, checkTable, isNoneOrNil } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import { isJsonObject, type JsonValue } from '../util/json.ts';
import { HTTP_DISPATCHER_FACTORY, httpDispatcherFactory } from '../clients/http/dispatcher.ts';
import { loadShaping, parseLoadOptions, type LoadResult } from '../shaping/load.ts';
import { dnsMxResolver, SHAPING_MX_RESOLVER } from '../shaping/mx.ts';
import { processDns } from '../dns/service.ts';
import { DNS_SERVICE } from './dns.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

const undici = lazyRequire<typeof import('undici')>('undici');

const ShapingClass: LuaClass<LoadResult> = new LuaClass<LoadResult>({
  name: 'Shaping',
  methods: {
    get_egress_path_config: asyncFunction('Shaping:get_egress_path_config', async (L) => {
      const shaping = ShapingClass.check(L, 1);
      const config = await shaping.data.egressPathConfig(argString(L, 2), argString(L, 3), argString(L, 4));
      return (Lr) => (pushJson(Lr, config), 1);
    }),
    match_rules: asyncFunction('Shaping:match_rules', async (L) => {
      const shaping = ShapingClass.check(L, 1);
      checkTable(L, 2);
      const record = toJson(L, 2);
      const rules = await shaping.data.matchRules(isJsonObject(record) ? record : {});
      return (Lr) => (pushJson(Lr, rules), 1);
    }),
    get_errors: (L) => (pushJson(L, ShapingClass.check(L, 1).errors), 1),
    get_warnings: (L) => (pushJson(L, ShapingClass.check(L, 1).warnings), 1),
    get_referenced_sources: (L) => (pushJson(L, ShapingClass.check(L, 1).data.referencedSources()), 1),
    hash: (L) => (pushText(L, ShapingClass.check(L, 1).data.hash()), 1),
  },
});

function pathsArg(L: LuaState): string[] {
  checkTable(L, 1);
  const raw = toJson(L, 1);
  const list: JsonValue[] = Array.isArray(raw) ? raw : isJsonObject(raw) && Object.keys(raw).length === 0 ? [] : [raw];
  if (!list.every((p): p is string => typeof p === 'string')) throw new Error('kumo.shaping.load: paths must be an array of file names or URLs');
  return list;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const kumoDnsMx = dnsMxResolver(() => ctx.optional(DNS_SERVICE) ?? processDns);
  const fetchText = async (url: string, timeoutMs: number): Promise<string> => {
    const lease = (ctx.optional(HTTP_DISPATCHER_FACTORY) ?? httpDispatcherFactory())({ poolIdleTimeoutMs: 1000, acceptInvalidCerts: false });
    try {
      const res = await undici().request(url, { dispatcher: lease.dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = await res.body.text();
      if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`HTTP ${res.statusCode} from ${url}`);
      return body;
    } finally {
      if (lease.owned) await lease.dispatcher.close();
    }
  };
  kumo.sub('shaping').fn(
    'load',
    asyncFunction('kumo.shaping.load', async (L) => {
      const paths = pathsArg(L);
      const options = parseLoadOptions(isNoneOrNil(L, 2) ? undefined : toJson(L, 2));
      const resolveMx = ctx.optional(SHAPING_MX_RESOLVER) ?? kumoDnsMx;
      const result = await loadShaping(paths, options, { resolveMx, fetchText });
      return (Lr) => (ShapingClass.push(Lr, result), 1);
    }),
  );
}
