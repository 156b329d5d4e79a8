/**
 * kumo.amqp against a real local RabbitMQ: publish from Lua, consume with
 * amqplib, compare payload and properties. Skipped only when the broker is
 * unreachable and CI is not set.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { newLua, errorOf } from '../helpers/lua.ts';
import { AMQP_URL, RabbitQueue, rabbitAddress, rabbitAvailable, skipRabbit } from '../helpers/rabbitmq.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { AMQP_PUBLISHER_POOL } from '../../src/kumo/amqp.ts';
import { AmqpPublisherPool } from '../../src/clients/amqp/pool.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const available = await rabbitAvailable();
const skip = skipRabbit(available);

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('kumo.amqp.build_client (RabbitMQ)', () => {
  let q: RabbitQueue;
  beforeAll(async () => {
    q = await RabbitQueue.create();
  });
  afterAll(async () => {
    await q?.close();
  });

  test('publish delivers payload and properties; wait() reports NotRequested once', async () => {
    const result = await newLua().eval(`
      local client = kumo.amqp.build_client('${AMQP_URL}')
      local confirm = client:publish{
        routing_key = '${q.name}',
        payload = '{"type":"Delivery"} héllo',
        properties = {
          content_type = 'application/json', content_encoding = 'utf-8', correlation_id = 'c-1',
          reply_to = 'replies', expiration = '60000', message_id = 'm-1', app_id = 'kumo', kind = 'log',
          delivery_mode = 2, priority = 5, timestamp = 1700000000,
          headers = { ['x-id'] = { LongString = { 104, 105 } }, ['x-n'] = { LongLongInt = 5 }, ['x-b'] = { Boolean = true } },
        },
        unknown_key = 'ignored',
      }
      local first = confirm:wait()
      local ok, err = pcall(confirm.wait, confirm)
      client:close()
      return { first, tostring(err) }
    `);
    expect(result).toEqual([{ status: 'NotRequested' }, 'confirmation already taken!?']);
    const msg = await q.next();
    expect(msg.content.toString('utf8')).toBe('{"type":"Delivery"} héllo');
    expect(msg.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: 'c-1',
      replyTo: 'replies',
      expiration: '60000',
      messageId: 'm-1',
      appId: 'kumo',
      type: 'log',
      deliveryMode: 2,
      priority: 5,
      timestamp: 1700000000,
    });
    expect(msg.properties.headers).toMatchObject({ 'x-id': 'hi', 'x-n': 5, 'x-b': true });
  });

  test('properties written at the top level are ignored (they belong in `properties`)', async () => {
    await newLua().eval(`
      local client = kumo.amqp.build_client('${AMQP_URL}')
      client:publish{ routing_key = '${q.name}', payload = 'x', content_type = 'text/plain' }:wait()
      client:close()
    `);
    const msg = await q.next();
    expect(msg.properties.contentType).toBeUndefined();
  });

  test('publish_with_timeout returns the table directly; an exchange routes by key', async () => {
    const bound = await RabbitQueue.create({ bindTo: { exchange: `kumo-test-${process.pid}`, routingKey: 'rk' } });
    try {
      const result = await newLua().eval(`
        local client = kumo.amqp.build_client('${AMQP_URL}')
        local r = client:publish_with_timeout({ exchange = 'kumo-test-${process.pid}', routing_key = 'rk', payload = 'routed' }, 5000)
        client:close()
        return r
      `);
      expect(result).toEqual({ status: 'NotRequested' });
      expect((await bound.next()).content.toString()).toBe('routed');
    } finally {
      await bound.close();
    }
  });

  test('one connection serves many publishes', async () => {
    const proxy = await TcpProxy.start(rabbitAddress());
    try {
      await newLua().eval(`
        local client = kumo.amqp.build_client('amqp://guest:guest@127.0.0.1:${proxy.port}')
        for i = 1, 20 do client:publish{ routing_key = '${q.name}', payload = 'n' .. i } end
        client:close()
      `);
      for (let i = 1; i <= 20; i++) expect((await q.next()).content.toString()).toBe(`n${i}`);
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  test('a dropped broker connection: a transient Lua error while down, re-established on the next publish', async () => {
    const proxy = await TcpProxy.start(rabbitAddress());
    const t = newLua();
    try {
      await t.eval(`
        CLIENT = kumo.amqp.build_client('amqp://guest:guest@127.0.0.1:${proxy.port}/')
        CLIENT:publish{ routing_key = '${q.name}', payload = 'before' }
      `);
      expect((await q.next()).content.toString()).toBe('before');
      proxy.refuse();
      proxy.dropAll();
      await tick(100);
      const down = await t.eval(`
        local ok, err = pcall(CLIENT.publish, CLIENT, { routing_key = '${q.name}', payload = 'while down' })
        return { ok, tostring(err) }
      `);
      expect(down).toEqual([false, expect.stringMatching(/^cannot connect to AMQP broker at 127\.0\.0\.1:\d+: /)]);
      proxy.accept();
      await t.eval(`CLIENT:publish{ routing_key = '${q.name}', payload = 'after' }`);
      expect((await q.next()).content.toString()).toBe('after');
      expect(proxy.connections).toBe(2);
      await t.eval(`CLIENT:close()`);
    } finally {
      await proxy.close();
    }
  });

  test('after close, publish and a second close raise', async () => {
    const result = await newLua().eval(`
      local client = kumo.amqp.build_client('${AMQP_URL}')
      client:close()
      local ok1, e1 = pcall(client.publish, client, { routing_key = 'x', payload = 'y' })
      local ok2, e2 = pcall(client.close, client)
      return { tostring(e1), tostring(e2) }
    `);
    expect(result).toEqual(['invalid channel state: Closed', 'invalid connection state: Closed']);
  });

  test('parameter errors are (S+) deserialize errors', async () => {
    const msg = await errorOf(
      newLua().eval(`
        local client = kumo.amqp.build_client('${AMQP_URL}')
        local ok, err = pcall(client.publish, client, { payload = 'no key' })
        client:close()
        error(err, 0)
      `),
    );
    expect(msg).toBe('deserialize error: missing field `routing_key`, while processing {"payload":"no key"}');
  });
});

describe.skipIf(skip)('kumo.amqp.basic_publish (RabbitMQ)', () => {
  test('flat properties, pooled connection reused across calls', async () => {
    const q = await RabbitQueue.create();
    const t = newLua();
    const pool = new AmqpPublisherPool();
    t.ctx.provide(AMQP_PUBLISHER_POOL, pool);
    const { host, port } = rabbitAddress();
    try {
      const result = await t.eval(`
        local conn = { host = '${host}', port = ${port}, username = 'guest', password = 'guest', vhost = '/', connection_name = 'kumo-lua-test' }
        local r
        for i = 1, 3 do
          r = kumo.amqp.basic_publish{
            routing_key = '${q.name}', payload = 'msg ' .. i, connection = conn,
            content_type = 'text/plain', message_type = 'note', delivery_mode = 2, app_id = 'kumo',
            headers = { ['x-tenant'] = 'acme' },
          }
        end
        return r == nil
      `);
      expect(result).toBe(true);
      for (let i = 1; i <= 3; i++) {
        const msg = await q.next();
        expect(msg.content.toString()).toBe(`msg ${i}`);
        expect(msg.properties).toMatchObject({ contentType: 'text/plain', type: 'note', deliveryMode: 2, appId: 'kumo' });
        expect(msg.properties.headers).toMatchObject({ 'x-tenant': 'acme' });
      }
      expect(pool.connectCount).toBe(1);
    } finally {
      await pool.purge();
      await q.close();
    }
  });
});

describe('kumo.amqp without a broker', () => {
  test('basic_publish is strict about unknown fields and validates the connection', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`kumo.amqp.basic_publish{ routing_key = 'a', payload = 'b', connection = { host = 'h' }, bogus = 1 }`))).toMatch(
      /^deserialize error: unknown field `bogus`, expected one of `routing_key`, `payload`/,
    );
    expect(await errorOf(t.eval(`kumo.amqp.basic_publish{ routing_key = 'a', payload = 'b', connection = { port = 1 } }`))).toBe(
      'deserialize error: missing field `host`',
    );
    expect(await errorOf(t.eval(`kumo.amqp.basic_publish{ routing_key = 'a', payload = 'b', connection = { host = 'h', client_cert = '/x' } }`))).toBe(
      'Either both client_cert and client_private_key must be specified, or neither',
    );
    expect(await errorOf(t.eval(`kumo.amqp.basic_publish{ routing_key = 'a', payload = 'b', priority = 1.0, connection = { host = 'h' } }`))).toBe(
      'deserialize error: invalid type: floating point `1.0`, expected u8',
    );
  });

  test('build_client: a refused port names the broker; a silent one hits the 20 s deadline', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await errorOf(newLua().eval(`kumo.amqp.build_client('amqp://127.0.0.1:${port}')`))).toMatch(
      new RegExp(`^cannot connect to AMQP broker at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );

    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const clock = new VirtualClock();
    try {
      const pending = newLua({ clock }).eval(`kumo.amqp.build_client('amqp://127.0.0.1:${(silent.address() as AddressInfo).port}')`);
      pending.catch(() => undefined);
      await tick(50);
      await clock.advance(20_000);
      expect(await errorOf(pending)).toBe('deadline has elapsed');
    } finally {
      silent.close();
    }
  });
});
