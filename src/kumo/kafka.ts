/**
 * kumo.kafka: build_producer and the Producer userdata (send, send_batch,
 * close). Thin Lua glue over src/clients/kafka/.
 */
import { lua, type LuaState, LUA_TNIL, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { checkTable } from '../lua/args.ts';
import { pushJson, pushNumber } from '../lua/marshal.ts';
import { keyBytes } from '../lua/strings.ts';
import { mapProducerConfig } from '../clients/kafka/config.ts';
import { KAFKA_PRODUCER_FACTORY, KafkaProducer, batchOutcome, kafkaProducerFactory, type KafkaRecord, type SendResult } from '../clients/kafka/producer.ts';
import { bytesField, readTextMap, tableAsJson } from '../clients/lua-args.ts';
import { FieldError, deserializeError, expectObject, optDuration, optInteger, optString, optStringMap, requireField } from '../clients/serde-fields.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

const I32 = [-2147483648, 2147483647, 'i32'] as const;

/** One record table (S, unknown keys ignored); the payload is read binary-safe. */
function readRecord(L: LuaState, idx: number): KafkaRecord {
  const abs = lua.lua_absindex(L, idx);
  try {
    if (lua.lua_type(L, abs) !== LUA_TTABLE) throw new FieldError(`invalid type: ${lua.lua_type(L, abs) === LUA_TNIL ? 'unit value' : 'value'}, expected struct Record`);
    let payload = bytesField(L, abs, 'payload');
    lua.lua_getfield(L, abs, keyBytes('payload'));
    const payloadType = lua.lua_type(L, -1);
    lua.lua_pop(L, 1);
    const obj = expectObject(tableAsJson(L, abs), 'struct Record');
    if (payload === undefined) {
      if (payloadType === LUA_TNIL) throw new FieldError('missing field `payload`');
      // serde's bytes also accept a sequence of byte numbers.
      const seq = obj.payload;
      if (!Array.isArray(seq) || !seq.every((b) => typeof b === 'number' && b >= 0 && b <= 255)) {
        throw new FieldError(`invalid type: ${payloadType === LUA_TSTRING ? 'string' : 'value'}, expected a byte array`);
      }
      payload = new Uint8Array(seq as number[]);
    }
    return {
      topic: requireField(obj, 'topic', optString),
      payload: Buffer.from(payload),
      key: optString(obj, 'key'),
      headers: optStringMap(obj, 'headers'),
      partition: optInteger(obj, 'partition', ...I32),
      timeoutMs: optDuration(obj, 'timeout'),
    };
  } catch (e) {
    if (e instanceof FieldError) throw deserializeError(e);
    throw e;
  }
}

const ProducerClass: LuaClass<KafkaProducer> = new LuaClass<KafkaProducer>({
  name: 'KafkaProducer',
  methods: {
    send: asyncFunction('KafkaProducer:send', async (L): Promise<LuaReturn> => {
      const producer = ProducerClass.check(L, 1);
      const record = readRecord(L, 2);
      const { partition, offset } = await producer.send(record);
      return (Lr) => {
        lua.lua_pushinteger(Lr, partition);
        pushNumber(Lr, offset);
        return 2;
      };
    }),
    send_batch: asyncFunction('KafkaProducer:send_batch', async (L): Promise<LuaReturn> => {
      const producer = ProducerClass.check(L, 1);
      checkTable(L, 2);
      // Each record is handed over as soon as it parses; a bad one raises, the earlier ones still go out.
      const sends: Promise<SendResult>[] = [];
      try {
        for (let i = 1; ; i++) {
          if (lua.lua_rawgeti(L, 2, i) === LUA_TNIL) {
            lua.lua_pop(L, 1);
            break;
          }
          const record = readRecord(L, -1);
          lua.lua_pop(L, 1);
          sends.push(producer.send(record));
        }
      } catch (e) {
        for (const s of sends) s.catch(() => undefined);
        throw e;
      }
      const { failedIndexes, errors } = await batchOutcome(sends);
      return (Lr) => {
        pushJson(Lr, failedIndexes);
        pushJson(Lr, errors);
        return 2;
      };
    }),
    close: (L) => {
      ProducerClass.check(L, 1).close();
      return 0;
    },
  },
});

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('kafka').fn('build_producer', (L) => {
    const pairs = readTextMap(L, 1, 'bad argument #1 to `build_producer`');
    const settings = mapProducerConfig(pairs);
    for (const warning of settings.warnings) ctx.log.write('warn', `kumo.kafka.build_producer: ${warning}`);
    const factory = ctx.optional(KAFKA_PRODUCER_FACTORY) ?? kafkaProducerFactory();
    ProducerClass.push(L, new KafkaProducer(settings, factory, ctx.clock));
    return 1;
  });
}
