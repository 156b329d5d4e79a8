/**
 * kumo.amqp: build_client (lapin flavour: Client / Confirm userdata) and
 * basic_publish (amqprs flavour, pooled). Thin Lua glue over src/clients/amqp/.
 */
import { lua, type LuaState, LUA_TTABLE } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { argInteger, argString } from '../lua/args.ts';
import { pushJson } from '../lua/marshal.ts';
import { ServiceSlot } from './context.ts';
import { AmqpClient, Confirm, type ConfirmResult } from '../clients/amqp/client.ts';
import { AmqpPublisherPool } from '../clients/amqp/pool.ts';
import type { Connector } from '../clients/amqp/channel.ts';
import { basicPublish, lapinPublish } from '../clients/amqp/params.ts';
import { tableAsJson } from '../clients/lua-args.ts';
import { deserializeError, FieldError } from '../clients/serde-fields.ts';
import type { JsonValue } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

/** The basic_publish connection pool; a process-wide one is used unless the composition root provides one. */
export const AMQP_PUBLISHER_POOL = new ServiceSlot<AmqpPublisherPool>('the AMQP publisher pool');
const defaultPool = new AmqpPublisherPool();
/** How AMQP connections are opened; amqplib unless provided (the test harness records publishes instead). */
export const AMQP_CONNECTOR = new ServiceSlot<Connector>('the AMQP connector');

/** Closes the process-wide basic_publish connections (shutdown). */
export function closeDefaultAmqpPool(): Promise<void> {
  return defaultPool.purge();
}

/** Parses a structured table argument, turning serde-style problems into `deserialize error: ...`. */
function parseTable<T>(L: LuaState, idx: number, parse: (v: JsonValue) => T, plus: boolean): T {
  const value = tableAsJson(L, idx);
  try {
    return parse(value);
  } catch (e) {
    if (e instanceof FieldError) throw deserializeError(e, plus ? value : undefined);
    throw e;
  }
}

const pushResult = (result: ConfirmResult): LuaReturn => (L) => {
  pushJson(L, result as unknown as JsonValue);
  return 1;
};

const ConfirmClass: LuaClass<Confirm> = new LuaClass<Confirm>({
  name: 'AmqpConfirm',
  methods: {
    wait: asyncFunction('Confirm:wait', async (L): Promise<LuaReturn | void> => pushResult(await ConfirmClass.check(L, 1).wait())),
  },
});

const ClientClass: LuaClass<AmqpClient> = new LuaClass<AmqpClient>({
  name: 'AmqpClient',
  methods: {
    publish: asyncFunction('AmqpClient:publish', async (L): Promise<LuaReturn | void> => {
      const client = ClientClass.check(L, 1);
      const args = parseTable(L, 2, lapinPublish, true);
      const confirm = await client.publish(args);
      return (Lr) => {
        ConfirmClass.push(Lr, confirm);
        return 1;
      };
    }),
    publish_with_timeout: asyncFunction('AmqpClient:publish_with_timeout', async (L): Promise<LuaReturn | void> => {
      const client = ClientClass.check(L, 1);
      const args = parseTable(L, 2, lapinPublish, true);
      const timeoutMs = argInteger(L, 3);
      if (timeoutMs < 0) throw new Error('bad argument #2 to `publish_with_timeout`: error converting Lua integer to u64 (out of range)');
      return pushResult(await client.publishWithTimeout(args, timeoutMs));
    }),
    close: asyncFunction('AmqpClient:close', async (L): Promise<LuaReturn | void> => {
      await ClientClass.check(L, 1).close();
    }),
  },
});

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('amqp').fns({
    build_client: asyncFunction('kumo.amqp.build_client', async (L): Promise<LuaReturn | void> => {
      const uri = argString(L, 1);
      const client = await AmqpClient.connect(uri, { clock: ctx.clock, connector: ctx.optional(AMQP_CONNECTOR) });
      return (Lr) => {
        ClientClass.push(Lr, client);
        return 1;
      };
    }),
    basic_publish: asyncFunction('kumo.amqp.basic_publish', async (L): Promise<LuaReturn | void> => {
      if (lua.lua_type(L, 1) !== LUA_TTABLE) throw deserializeError(new FieldError('invalid type: expected struct PublishParams'));
      const request = parseTable(L, 1, basicPublish, false);
      await (ctx.optional(AMQP_PUBLISHER_POOL) ?? defaultPool).publish(request);
    }),
  });
}
