/**
 * kumo.kafka from Lua with an injected producer (mapping and result shaping
 * without a broker), plus a real round trip when KAFKA_BROKERS is set.
 */
import { describe, expect, test } from 'vitest';
import type { ProducerRecord, RecordMetadata } from 'kafkajs';
import { newLua, errorOf } from '../helpers/lua.ts';
import { KAFKA_PRODUCER_FACTORY, type ProducerLike } from '../../src/clients/kafka/producer.ts';
import type { ProducerSettings } from '../../src/clients/kafka/config.ts';
import { VirtualClock } from '../../src/util/clock.ts';

/** A stand-in for the kafkajs producer: records sends, answers with scripted metadata. */
class FakeProducer implements ProducerLike {
  readonly sent: ProducerRecord[] = [];
  connects = 0;
  disconnects = 0;
  nextOffset = 41;
  /** Return undefined to hang, throw to fail. */
  answer: (record: ProducerRecord) => RecordMetadata[] | undefined = (record) => [
    { topicName: record.topic, partition: record.messages[0]!.partition ?? 3, errorCode: 0, baseOffset: String(this.nextOffset++) },
  ];
  async connect(): Promise<void> {
    this.connects++;
  }
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.sent.push(record);
    try {
      const r = this.answer(record);
      return r ? Promise.resolve(r) : new Promise(() => undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

function setup(options: { clock?: VirtualClock } = {}) {
  const t = newLua(options);
  const fake = new FakeProducer();
  const settings: ProducerSettings[] = [];
  t.ctx.provide(KAFKA_PRODUCER_FACTORY, (s) => {
    settings.push(s);
    return fake;
  });
  return { t, fake, settings };
}


describe('kumo.kafka with an injected producer', () => {
  test('build_producer maps librdkafka properties; no connection until the first send', async () => {
    const { t, fake, settings } = setup();
    await t.eval(`
      PRODUCER = kumo.kafka.build_producer{
        ['bootstrap.servers'] = 'k1:9092, k2:9093', ['client.id'] = 'kumo', ['acks'] = 1,
        ['compression.type'] = 'gzip', ['message.timeout.ms'] = '30000', ['request.timeout.ms'] = 5000,
        ['security.protocol'] = 'SASL_SSL', ['sasl.mechanisms'] = 'SCRAM-SHA-512',
        ['sasl.username'] = 'u', ['sasl.password'] = 'p', ['linger.ms'] = 5, ['no.such.thing'] = 'x',
      }
    `);
    const s = settings[0]!;
    expect(s.kafka).toMatchObject({
      brokers: ['k1:9092', 'k2:9093'],
      clientId: 'kumo',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      requestTimeout: 5000,
    });
    expect(s).toMatchObject({ acks: 1, compression: 1, messageTimeoutMs: 30000, requestTimeoutMs: 5000 });
    expect(fake.connects).toBe(0);
    const warnings = t.log.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toEqual([
      'kumo.kafka.build_producer: property "linger.ms" has no kafkajs equivalent and is ignored',
      'kumo.kafka.build_producer: unknown or unsupported librdkafka property "no.such.thing" is ignored',
    ]);
  });

  test('invalid values and missing brokers raise, naming the property', async () => {
    const { t } = setup();
    expect(await errorOf(t.eval(`kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k', acks = 'most' }`))).toBe(
      'Invalid value "most" for configuration property "acks": expected all, -1, 0 or 1',
    );
    expect(await errorOf(t.eval(`kumo.kafka.build_producer{ ['client.id'] = 'x' }`))).toMatch(/"bootstrap.servers" is required/);
    expect(await errorOf(t.eval(`kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k', ['enable.idempotence'] = true }`))).toMatch(
      /^bad argument #1 to `build_producer`: error converting Lua boolean to String/,
    );
  });

  test('send returns partition and offset; binary payload, key, headers and partition reach the producer', async () => {
    const { t, fake } = setup();
    const result = await t.eval(`
      local p = kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k:9092' }
      local part, off = p:send{ topic = 'logs', payload = '\\0\\1\\255', key = 'k1', headers = { h = 'v' }, partition = 7, extra = 'ignored' }
      local part2, off2 = p:send{ topic = 'logs', payload = 'x' }
      return { part, off, part2, off2, math.type(off) }
    `);
    expect(result).toEqual([7, 41, 3, 42, 'integer']);
    expect(fake.connects).toBe(1);
    const m = fake.sent[0]!.messages[0]!;
    expect(Buffer.from(m.value as Buffer)).toEqual(Buffer.from([0, 1, 255]));
    expect(m).toMatchObject({ key: 'k1', headers: { h: 'v' }, partition: 7 });
    expect(fake.sent[0]).toMatchObject({ topic: 'logs', acks: -1 });
  });

  test('offsets beyond 32 bits come back as integers', async () => {
    const { t, fake } = setup();
    fake.nextOffset = 2 ** 33 + 5;
    const result = await t.eval(`
      local _, off = kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k' }:send{ topic = 't', payload = 'p' }
      return { off == 8589934597, math.type(off) }
    `);
    expect(result).toEqual([true, 'integer']);
  });

  test('record fields follow the structured rules', async () => {
    const { t } = setup();
    const send = (fields: string) => errorOf(t.eval(`kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k' }:send{ ${fields} }`));
    expect(await send(`topic = 't'`)).toBe('deserialize error: missing field `payload`');
    expect(await send(`payload = 'p'`)).toBe('deserialize error: missing field `topic`');
    expect(await send(`topic = 't', payload = 'p', key = 5`)).toBe('deserialize error: invalid type: integer `5`, expected a string');
    expect(await send(`topic = 't', payload = 'p', headers = { a = 1 }`)).toBe('deserialize error: invalid type: integer `1`, expected a string');
    expect(await send(`topic = 't', payload = 'p', partition = 1.0`)).toBe('deserialize error: invalid type: floating point `1.0`, expected i32');
  });

  test('send_batch returns failed 1-based indexes and errors; all-good gives two empty tables', async () => {
    const { t, fake } = setup();
    fake.answer = (record) => {
      if (String(record.messages[0]!.value).startsWith('bad')) throw Object.assign(new Error('Broker: Message size too large'), { type: 'MESSAGE_TOO_LARGE' });
      return [{ topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '1' }];
    };
    const result = await t.eval(`
      local p = kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k' }
      local f1, e1 = p:send_batch{ { topic = 't', payload = 'ok1' }, { topic = 't', payload = 'bad2' }, { topic = 't', payload = 'ok3' }, { topic = 't', payload = 'bad4' } }
      local f2, e2 = p:send_batch{ { topic = 't', payload = 'ok' } }
      return { f1, e1, #f2, #e2 }
    `);
    expect(result).toEqual([
      [2, 4],
      [
        'Message production error: MESSAGE_TOO_LARGE (Broker: Message size too large)',
        'Message production error: MESSAGE_TOO_LARGE (Broker: Message size too large)',
      ],
      0,
      0,
    ]);
  });

  test('a record that fails to parse raises; the records before it are still sent', async () => {
    const { t, fake } = setup();
    const msg = await errorOf(t.eval(`kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k' }:send_batch{ { topic = 't', payload = 'a' }, { payload = 'b' } }`));
    expect(msg).toBe('deserialize error: missing field `topic`');
    expect(fake.sent).toHaveLength(1);
  });

  test('the send timeout (default 60s, capped by message.timeout.ms) raises MessageTimedOut', async () => {
    const clock = new VirtualClock();
    const { t, fake } = setup({ clock });
    fake.answer = () => undefined;
    const pending = t.eval(`
      local p = kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k', ['message.timeout.ms'] = 10000 }
      local ok1, e1 = pcall(p.send, p, { topic = 't', payload = 'x', timeout = '2s' })
      local ok2, e2 = pcall(p.send, p, { topic = 't', payload = 'x' })
      return { tostring(e1), tostring(e2) }
    `);
    await clock.advance(2000);
    await clock.advance(10000);
    expect(await pending).toEqual([
      'Message production error: MessageTimedOut (Local: Message timed out)',
      'Message production error: MessageTimedOut (Local: Message timed out)',
    ]);
  });

  test('close: later sends raise "client was closed"; close twice is fine; the producer disconnects', async () => {
    const { t, fake } = setup();
    const result = await t.eval(`
      local p = kumo.kafka.build_producer{ ['bootstrap.servers'] = 'k' }
      p:send{ topic = 't', payload = 'x' }
      p:close()
      p:close()
      local ok, err = pcall(p.send, p, { topic = 't', payload = 'y' })
      local ok2, err2 = pcall(p.send_batch, p, { { topic = 't', payload = 'y' } })
      local f, e = p:send_batch{ { topic = 't', payload = 'y' } }
      return { tostring(err), f[1], e[1] }
    `);
    expect(result).toEqual(['client was closed', 1, 'client was closed']);
    await new Promise((r) => setImmediate(r));
    expect(fake.disconnects).toBe(1);
  });
});

const brokers = process.env.KAFKA_BROKERS;
describe.skipIf(!brokers)('kumo.kafka against a real broker (KAFKA_BROKERS)', () => {
  test('send and send_batch round-trip', async () => {
    const t = newLua();
    const topic = `kumo-lua-test-${process.pid}`;
    const result = await t.eval(`
      local p = kumo.kafka.build_producer{ ['bootstrap.servers'] = '${brokers}', ['allow.auto.create.topics'] = 'true' }
      local part, off = p:send{ topic = '${topic}', payload = 'hello', key = 'k' }
      local f, e = p:send_batch{ { topic = '${topic}', payload = 'a' }, { topic = '${topic}', payload = 'b' } }
      p:close()
      return { type(part), type(off), #f, #e }
    `);
    expect(result).toEqual(['number', 'number', 0, 0]);
  }, 60_000);
});
