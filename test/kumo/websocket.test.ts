import { afterEach, describe, expect, it } from 'vitest';
import { newLua, errorOf } from '../helpers/lua.ts';
import { ShapingDaemon } from '../helpers/shaping-daemon.ts';

let daemon: ShapingDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

describe('kumo.http.connect_websocket', () => {
  it('returns the stream and the 101 response; recv returns messages in order', async () => {
    daemon = await ShapingDaemon.start({ events: [{ n: 1 }, { n: 2 }] });
    const ws = daemon.url.replace('http', 'ws');
    expect(await newLua().eval(`
      local stream, response = kumo.http.connect_websocket('${ws}/subscribe_event_v1')
      return { response:status_code(), stream:recv(), stream:recv() }
    `)).toEqual([101, '{"n":1}', '{"n":2}']);
  });

  it('recv_batch returns what arrived; after a close with nothing left it raises "websocket closed"; recv gives nil', async () => {
    daemon = await ShapingDaemon.start({ events: [{ n: 1 }] });
    const ws = daemon.url.replace('http', 'ws');
    const t = newLua();
    await t.load(`STREAM = require('kumo').http.connect_websocket('${ws}/subscribe_event_v1')`);
    expect(await t.eval(`return STREAM:recv()`)).toBe('{"n":1}');
    await daemon.stop();
    daemon = undefined;
    expect(await errorOf(t.eval(`return STREAM:recv_batch('10s')`))).toMatch(/websocket closed/);
    expect(await t.eval(`return STREAM:recv() == nil`)).toBe(true);
  });

  it('an integer timeout raises; a 404 upgrade and a non-ws URL raise', async () => {
    daemon = await ShapingDaemon.start();
    const ws = daemon.url.replace('http', 'ws');
    expect(await errorOf(newLua().eval(`local s = kumo.http.connect_websocket('${ws}/subscribe_event_v1') return s:recv_batch(3)`))).toMatch(/invalid timeout duration/);
    expect(await errorOf(newLua().eval(`return kumo.http.connect_websocket('${ws}/nope')`))).toMatch(/404/);
    expect(await errorOf(newLua().eval(`return kumo.http.connect_websocket('${daemon.url}/x')`))).toMatch(/URL scheme not supported/);
  });
});
