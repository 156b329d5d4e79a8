/**
 * kumo.make_queue_config and kumo.make_egress_path: the Lua table is
 * validated by the engine's own parsers and comes back as userdata that reads
 * like a table. Errors keep KumoMTA's "deserialize error: ..., while
 * processing <json>" shape, which policy-extras helpers parse.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { checkTable } from '../lua/args.ts';
import { LuaClass } from '../lua/userdata.ts';
import { pushJson, toJson, typeNameAt, type JsonConvertible } from '../lua/marshal.ts';
import { toText } from '../lua/strings.ts';
import { isJsonObject, toJsonText, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseQueueConfig, queueConfigToJson, type QueueConfig } from '../queue/queue-config.ts';
import { parseEgressPathConfig, type EgressPathConfig } from '../queue/egress-path-config.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { parseSpoolParams } from '../spool/spool-params.ts';
import { SPOOL_DEFINITIONS } from '../spool/spool-definitions.ts';

/** A validated config plus the table it came from (what `__index` shows). */
export class ConfigObject<T> implements JsonConvertible {
  constructor(
    readonly config: T,
    readonly source: JsonObject,
  ) {}
  toJsonValue(): JsonValue {
    return this.source;
  }
}

export function configClass<T>(name: string): LuaClass<ConfigObject<T>> {
  const cls: LuaClass<ConfigObject<T>> = new LuaClass<ConfigObject<T>>({
    name,
    meta: {
      __index: (L: LuaState) => {
        const obj = cls.check(L, 1);
        const key = lua.lua_type(L, 2) === lua.LUA_TSTRING ? toText(L, 2) : '';
        pushJson(L, Object.hasOwn(obj.source, key) ? obj.source[key] : undefined);
        return 1;
      },
      __pairs: (L: LuaState) => {
        const obj = cls.check(L, 1);
        const entries = Object.entries(obj.source);
        let i = 0;
        lua.lua_pushcfunction(L, (Li: LuaState) => {
          const entry = entries[i++];
          if (!entry) return 0;
          lua.lua_pushstring(Li, entry[0]);
          pushJson(Li, entry[1]);
          return 2;
        });
        lua.lua_pushnil(L);
        lua.lua_pushnil(L);
        return 3;
      },
    },
  });
  return cls;
}

export const QueueConfigClass = configClass<QueueConfig>('QueueConfig');
export const EgressPathClass = configClass<EgressPathConfig>('EgressPathConfig');

/** Reads a config table argument and validates it, wrapping errors like serde does. */
export function parseTableArg<T>(L: LuaState, parse: (obj: JsonObject) => T): ConfigObject<T> {
  checkTable(L, 1);
  const source = toJson(L, 1, { keepArrayMarker: true });
  const obj: JsonObject = isJsonObject(source) ? source : {};
  try {
    return new ConfigObject(parse(obj), obj);
  } catch (e) {
    throw new Error(`deserialize error: ${(e as Error).message}, while processing ${toJsonText(source)}`);
  }
}

/** The QueueConfig a get_queue_config handler returned, or an error saying what it returned instead. */
export function queueConfigFromLua(L: LuaState, idx: number): QueueConfig {
  const obj = QueueConfigClass.test(L, idx);
  if (obj) return obj.config;
  throw new Error(`get_queue_config must return kumo.make_queue_config{...}, got ${typeNameAt(L, idx)}`);
}

export function egressPathFromLua(L: LuaState, idx: number): EgressPathConfig {
  const obj = EgressPathClass.test(L, idx);
  if (obj) return obj.config;
  throw new Error(`get_egress_path_config must return kumo.make_egress_path{...}, got ${typeNameAt(L, idx)}`);
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn('define_spool', (L) => {
    const spool = parseTableArg(L, parseSpoolParams);
    ctx.require(SPOOL_DEFINITIONS, 'kumo.define_spool').define(spool.config);
    return 0;
  });
  kumo.fn('make_queue_config', (L) => {
    QueueConfigClass.push(L, parseTableArg(L, parseQueueConfig));
    return 1;
  });
  kumo.fn('make_egress_path', (L) => {
    EgressPathClass.push(L, parseTableArg(L, parseEgressPathConfig));
    return 1;
  });
}

export { queueConfigToJson };
