/**
 * kumo.http from Lua against a real recording HTTP server on 127.0.0.1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newLua, errorOf } from '../helpers/lua.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { lua as lua_ } from '../../src/lua/fengari.ts';

let sink: WebhookSink;
beforeAll(async () => {
  sink = await WebhookSink.start();
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => {
  sink.reset();
  sink.respondWith({ status: 200 });
});

const lua = (code: string) => newLua().eval(code);

describe('requests on the wire', () => {
  test('post with headers and body; Accept */* by default and no User-Agent', async () => {
    sink.respondWith({ status: 201, body: 'created!' });
    const result = await lua(`
      local client = kumo.http.build_client{}
      local resp = client:post('${sink.url}/hook?x=1')
        :header('Content-Type', 'application/json')
        :header('X-Count', 5)
        :body('{"a":1}')
        :send()
      return { resp:status_code(), resp:status_reason(), resp:text() }
    `);
    expect(result).toEqual([201, 'Created', 'created!']);
    const req = sink.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hook?x=1');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-count']).toBe('5');
    expect(req.headers['accept']).toBe('*/*');
    expect(req.headers['user-agent']).toBeUndefined();
    expect(req.text()).toBe('{"a":1}');
  });

  test('user_agent option, request Accept replaces the default, header() appends', async () => {
    await lua(`
      local client = kumo.http.build_client{ user_agent = 'kumo-test/1' }
      client:get('${sink.url}/a'):header('Accept', 'text/plain'):header('X-A', '1'):header('X-A', '2'):send()
      client:get('${sink.url}/b'):header('User-Agent', 'mine'):send()
    `);
    const [a, b] = sink.requests;
    expect(a!.headers['user-agent']).toBe('kumo-test/1');
    expect(a!.headers['accept']).toBe('text/plain');
    expect(a!.rawHeaders.filter((h, i) => i % 2 === 0 && h === 'accept')).toHaveLength(1);
    expect(a!.headers['x-a']).toBe('1, 2');
    expect(b!.headers['user-agent']).toBe('mine');
  });

  test('headers(map) converts numbers; UTF-8 header values go out byte-exact', async () => {
    await lua(`
      kumo.http.build_client{}:put('${sink.url}/p'):headers{ ['X-N'] = 42, ['X-U'] = 'héllo' }:send()
    `);
    const req = sink.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.headers['x-n']).toBe('42');
    expect(Buffer.from(req.headers['x-u'] as string, 'latin1').toString('utf8')).toBe('héllo');
  });

  test('binary request body and binary response body round-trip', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    sink.respondWith({ status: 200, body: all, headers: { 'content-type': 'application/octet-stream' } });
    const result = await lua(`
      local t = {}
      for i = 0, 255 do t[#t + 1] = string.char(i) end
      local payload = table.concat(t)
      local resp = kumo.http.build_client{}:post('${sink.url}/bin'):body(payload):send()
      local got = resp:bytes()
      return { #got, got == payload }
    `);
    expect(sink.requests[0]!.body.equals(all)).toBe(true);
    expect(result).toEqual([256, true]);
  });

  test('basic_auth with and without password, bearer_auth', async () => {
    await lua(`
      local c = kumo.http.build_client{}
      c:get('${sink.url}/1'):basic_auth('user', 'pa:ss'):send()
      c:get('${sink.url}/2'):basic_auth('user'):send()
      c:get('${sink.url}/3'):bearer_auth('tok123'):send()
    `);
    const auth = sink.requests.map((r) => r.headers['authorization']);
    expect(auth[0]).toBe(`Basic ${Buffer.from('user:pa:ss').toString('base64')}`);
    expect(auth[1]).toBe(`Basic ${Buffer.from('user:').toString('base64')}`);
    expect(auth[2]).toBe('Bearer tok123');
  });

  test('form_url_encoded sets the body and a Content-Type only when none is present', async () => {
    await lua(`
      local c = kumo.http.build_client{}
      c:post('${sink.url}/f'):form_url_encoded{ q = 'a b&c*-._~' }:send()
      c:post('${sink.url}/g'):header('Content-Type', 'text/x-mine'):form_url_encoded{ n = 1 }:send()
    `);
    expect(sink.requests[0]!.text()).toBe('q=a+b%26c*-._%7E');
    expect(sink.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sink.requests[1]!.text()).toBe('n=1');
    expect(sink.requests[1]!.headers['content-type']).toBe('text/x-mine');
  });

  test('form_multipart_data: text, binary and file parts', async () => {
    await lua(`
      kumo.http.build_client{}:post('${sink.url}/m'):form_multipart_data{
        greeting = 'hello',
        blob = '\\xff\\xfe',
        upload = { data = 'file body', file_name = 'a.txt' },
      }:send()
    `);
    const req = sink.requests[0]!;
    const ct = req.headers['content-type'] as string;
    const boundary = /boundary=(.+)$/.exec(ct)![1]!;
    expect(ct.startsWith('multipart/form-data;')).toBe(true);
    const parts = req.body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    const byName = Object.fromEntries(parts.map((p) => [/name="([^"]+)"/.exec(p)![1], p]));
    expect(byName.greeting).toContain('Content-Type: text/plain; charset="utf-8"\r\n\r\nhello\r\n');
    expect(byName.blob).toContain('Content-Type: application/octet-stream\r\n\r\n\xff\xfe\r\n');
    expect(byName.upload).toContain('filename="a.txt"');
    expect(byName.upload).toContain('\r\n\r\nfile body\r\n');
    expect(req.body.toString('latin1').endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  test('a signing recipe: the header value is computed from exactly the body that is sent', async () => {
    await lua(`
      local body = kumo.serde and kumo.serde.json_encode and kumo.serde.json_encode{ id = 7 } or '{"id":7}'
      local sig = string.format('%08x', #body)
      kumo.http.build_client{}:post('${sink.url}/signed')
        :header('Content-Type', 'application/json'):header('X-Signature', 'len=' .. sig):body(body):send()
    `);
    const req = sink.requests[0]!;
    expect(req.headers['x-signature']).toBe(`len=${req.body.length.toString(16).padStart(8, '0')}`);
  });
});

describe('responses', () => {
  test('4xx and 5xx are normal responses; reasons come from the canonical table', async () => {
    sink.enqueue({ status: 404, body: 'nf' }, { status: 503 }, { status: 203 }, { status: 599 }, { status: 302 },
      { status: 300 }, { status: 299 }, { status: 200 }, { status: 399 }, { status: 400 }, { status: 499 }, { status: 500 });
    const result = await lua(`
      local c = kumo.http.build_client{}
      local out = {}
      for i = 1, 12 do
        local r = c:get('${sink.url}/s' .. i):send()
        out[i] = { r:status_code(), r:status_reason() or 'nil', r:status_is_success(), r:status_is_client_error(),
          r:status_is_server_error(), r:status_is_redirection(), r:status_is_informational() }
      end
      return out
    `);
    expect(result).toEqual([
      [404, 'Not Found', false, true, false, false, false],
      [503, 'Service Unavailable', false, false, true, false, false],
      [203, 'Non Authoritative Information', true, false, false, false, false],
      [599, 'nil', false, false, true, false, false],
      [302, 'Found', false, false, false, true, false],
      [300, 'Multiple Choices', false, false, false, true, false],
      [299, 'nil', true, false, false, false, false],
      [200, 'OK', true, false, false, false, false],
      [399, 'nil', false, false, false, true, false],
      [400, 'Bad Request', false, true, false, false, false],
      [499, 'nil', false, true, false, false, false],
      [500, 'Internal Server Error', false, false, true, false, false],
    ]);
  });

  test('HeaderMap: case-insensitive first value, pairs yields every value once, in order', async () => {
    sink.respondWith({ status: 200, headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Thing': 'v' }, body: 'abc' });
    const result = await lua(`
      local r = kumo.http.build_client{}:get('${sink.url}/h'):send()
      local h = r:headers()
      local seen = {}
      for k, v in pairs(h) do if k == 'set-cookie' or k == 'x-thing' then seen[#seen + 1] = k .. '=' .. v end end
      return { h['SET-COOKIE'], h['x-thing'], h['missing'] == nil, h['bad name'] == nil, seen, r:content_length() }
    `);
    expect(result).toEqual(['a=1', 'v', true, true, ['set-cookie=a=1', 'set-cookie=b=2', 'x-thing=v'], 3]);
  });

  test('content_length is nil for a chunked body; text() is lossy UTF-8', async () => {
    sink.respondWith({ status: 200, chunked: true, body: Buffer.from([0x68, 0x69, 0xff]) });
    const result = await lua(`
      local r = kumo.http.build_client{}:get('${sink.url}/c'):send()
      return { r:content_length() == nil, r:text() }
    `);
    expect(result).toEqual([true, 'hi\uFFFD']);
  });

  test('the body is consumed once; status stays readable; HeaderMap taken before stays valid', async () => {
    sink.respondWith({ status: 200, body: 'x', headers: { 'X-K': 'v' } });
    const result = await lua(`
      local r = kumo.http.build_client{}:get('${sink.url}/once'):send()
      local h = r:headers()
      r:text()
      local out = { r:status_code(), h['x-k'] }
      for _, m in ipairs{ 'text', 'bytes', 'headers', 'content_length' } do
        local ok, err = pcall(r[m], r)
        out[#out + 1] = tostring(err)
      end
      return out
    `);
    expect(result).toEqual([200, 'v', ...Array(4).fill('broken response wrapper')]);
  });

  test('a request is sent once: any later use is "broken request builder"', async () => {
    const result = await lua(`
      local req = kumo.http.build_client{}:get('${sink.url}/x')
      req:send()
      local ok1, e1 = pcall(req.send, req)
      local ok2, e2 = pcall(req.header, req, 'a', 'b')
      return { tostring(e1), tostring(e2) }
    `);
    expect(result).toEqual(['broken request builder', 'broken request builder']);
  });
});

describe('keep-alive', () => {
  test('sequential requests of one client reuse one socket', async () => {
    await lua(`
      local c = kumo.http.build_client{}
      for i = 1, 25 do assert(c:post('${sink.url}/k'):body('r' .. i):send():status_code() == 200) end
    `);
    expect(sink.requests).toHaveLength(25);
    expect(sink.socketCount).toBe(1);
  });

  test('concurrent handlers share the pool: sockets stay bounded by the concurrency, then are reused', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      local client = kumo.http.build_client{}
      kumo.on('send_one', function(i)
        local r = client:post('${sink.url}/c'):body(tostring(i)):send()
        return r:status_code()
      end)
    `);
    const fire = (i: number) => t.ctx.events.fire('send_one', (L) => (lua_.lua_pushinteger(L, i), 1));
    await Promise.all(Array.from({ length: 10 }, (_, i) => fire(i)));
    const afterBurst = sink.socketCount;
    expect(afterBurst).toBeGreaterThanOrEqual(1);
    expect(afterBurst).toBeLessThanOrEqual(10);
    for (let i = 0; i < 10; i++) await fire(i);
    expect(sink.requests).toHaveLength(20);
    expect(sink.socketCount).toBe(afterBurst);
  });
});


describe('timeouts (virtual clock)', () => {
  async function timeoutCase(code: string, advanceMs: number, path = '/slow') {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    const pending = t.eval(code);
    pending.catch(() => undefined);
    await sink.waitForRequests(1);
    await clock.advance(advanceMs - 1);
    const stillPending = await Promise.race([pending.then(() => false, () => false), new Promise((r) => setTimeout(() => r(true), 20))]);
    await clock.advance(1);
    return { stillPending, message: await errorOf(pending), url: `${sink.url}${path}` };
  }

  test('the client timeout (default 60s) bounds the wait for headers', async () => {
    sink.respondWith({ hang: true });
    const r = await timeoutCase(`kumo.http.build_client{}:get('${sink.url}/slow'):send()`, 60_000);
    expect(r.stillPending).toBe(true);
    expect(r.message).toBe(`error sending request for url (${r.url}): timed out after 60s`);
  });

  test('build_client{timeout="5s"} and req:timeout(2.5) override', async () => {
    sink.respondWith({ hang: true });
    const a = await timeoutCase(`kumo.http.build_client{ timeout = '5s' }:get('${sink.url}/slow'):send()`, 5000);
    expect(a.message).toBe(`error sending request for url (${a.url}): timed out after 5s`);
    sink.reset();
    const b = await timeoutCase(`kumo.http.build_client{ timeout = 30 }:get('${sink.url}/slow'):timeout(2.5):send()`, 2500);
    expect(b.stillPending).toBe(true);
    expect(b.message).toBe(`error sending request for url (${b.url}): timed out after 2.5s`);
  });

  test('the deadline also covers reading the body: text() raises the body error', async () => {
    sink.respondWith({ hang: 'mid-body', body: 'partial body' });
    const clock = new VirtualClock();
    const t = newLua({ clock });
    const pending = t.eval(`
      local r = kumo.http.build_client{ timeout = '1s' }:get('${sink.url}/mid'):send()
      local status = r:status_code()
      local ok, err = pcall(r.text, r)
      return { status, ok, tostring(err) }
    `);
    await sink.waitForRequests(1);
    await new Promise((r) => setTimeout(r, 30));
    await clock.advance(1000);
    expect(await pending).toEqual([200, false, `request or response body error for url (${sink.url}/mid): timed out after 1s`]);
  });

  test('req:timeout accepts floats and humantime strings, refuses Lua integers', async () => {
    const result = await lua(`
      local c = kumo.http.build_client{}
      local r = c:get('${sink.url}/t')
      r:timeout(1.5)
      r:timeout('250ms')
      local ok1, e1 = pcall(r.timeout, r, 10)
      local ok2, e2 = pcall(r.timeout, r, '10')
      return { tostring(e1), tostring(e2), r:send():status_code() }
    `);
    expect(result).toEqual(['invalid timeout duration', 'time unit needed, for example 10sec or 10ms', 200]);
  });
});

describe('redirects', () => {
  test('302 turns POST into GET without body or payload headers; Referer names the previous URL', async () => {
    sink.enqueue({ status: 302, headers: { location: '/next' } }, { status: 200, body: 'landed' });
    const result = await lua(`
      local r = kumo.http.build_client{}:post('${sink.url}/start'):header('Content-Type', 'text/plain'):body('payload'):send()
      return { r:status_code(), r:text() }
    `);
    expect(result).toEqual([200, 'landed']);
    const [first, second] = sink.requests;
    expect(first!.method).toBe('POST');
    expect(second!.method).toBe('GET');
    expect(second!.path).toBe('/next');
    expect(second!.body.length).toBe(0);
    expect(second!.headers['content-type']).toBeUndefined();
    expect(second!.headers['referer']).toBe(`${sink.url}/start`);
  });

  test('307 and 308 keep the method and the body', async () => {
    sink.enqueue({ status: 307, headers: { location: '/b' } }, { status: 308, headers: { location: '/c' } }, { status: 200 });
    await lua(`kumo.http.build_client{}:put('${sink.url}/a'):body('keep me'):send()`);
    expect(sink.requests.map((r) => [r.method, r.path, r.text()])).toEqual([
      ['PUT', '/a', 'keep me'],
      ['PUT', '/b', 'keep me'],
      ['PUT', '/c', 'keep me'],
    ]);
  });

  test('a host change drops Authorization', async () => {
    sink.enqueue({ status: 302, headers: { location: `http://localhost:${sink.port}/other` } }, { status: 200 });
    await lua(`kumo.http.build_client{}:get('${sink.url}/auth'):bearer_auth('secret'):send()`);
    expect(sink.requests[0]!.headers['authorization']).toBe('Bearer secret');
    expect(sink.requests[1]!.headers['authorization']).toBeUndefined();
  });

  test('more than 10 redirects raise; a non-http target raises', async () => {
    sink.respondWith({ status: 302, headers: { location: '/loop' } });
    const msg = await errorOf(lua(`kumo.http.build_client{}:get('${sink.url}/loop'):send()`));
    expect(msg).toMatch(/^error following redirect for url \(http:\/\/127\.0\.0\.1:\d+\/loop\): too many redirects/);
    expect(sink.requests).toHaveLength(11);
    sink.respondWith({ status: 301, headers: { location: 'ftp://example.com/x' } });
    const msg2 = await errorOf(lua(`kumo.http.build_client{}:get('${sink.url}/ftp'):send()`));
    expect(msg2).toMatch(/^error following redirect for url \(ftp:\/\/example\.com\/x\)/);
  });
});

describe('redirects: the exact default (clients.md §1.1) and follow_redirects = false', () => {
  test.each([301, 302, 303])('%i turns a POST into a body-less GET without payload headers', async (status) => {
    sink.enqueue({ status, headers: { location: '/next' } }, { status: 200 });
    await lua(`kumo.http.build_client{}:post('${sink.url}/s'):header('Content-Type', 'application/json'):body('{}'):send()`);
    const second = sink.requests[1]!;
    expect([second.method, second.body.length, second.headers['content-type'], second.headers['content-length']]).toEqual(['GET', 0, undefined, undefined]);
  });

  test('303 turns a PUT into a GET too; 301/302 keep a GET a GET', async () => {
    sink.enqueue({ status: 303, headers: { location: '/g' } }, { status: 200 }, { status: 301, headers: { location: '/h' } }, { status: 200 });
    await lua(`local c = kumo.http.build_client{}
      c:put('${sink.url}/p'):body('x'):send()
      c:get('${sink.url}/q'):send()`);
    expect(sink.requests.map((r) => [r.method, r.path])).toEqual([['PUT', '/p'], ['GET', '/g'], ['GET', '/q'], ['GET', '/h']]);
  });

  test('follow_redirects = false returns the redirect itself, Location readable', async () => {
    sink.enqueue({ status: 301, headers: { location: '/elsewhere' } }, { status: 200 });
    const result = await lua(`
      local r = kumo.http.build_client{ follow_redirects = false }:post('${sink.url}/s'):body('rec'):send()
      return { r:status_code(), r:status_is_redirection(), r:headers()['location'] }
    `);
    expect(result).toEqual([301, true, '/elsewhere']);
    expect(sink.requests).toHaveLength(1);
  });

  test('a 301 loop makes 1 POST and 10 GETs, then raises', async () => {
    sink.respondWith({ status: 301, headers: { location: '/loop' } });
    const msg = await errorOf(lua(`kumo.http.build_client{}:post('${sink.url}/loop'):body('x'):send()`));
    expect(msg).toMatch(/too many redirects \(more than 10\)/);
    expect(sink.requests.map((r) => r.method)).toEqual(['POST', ...Array(10).fill('GET')]);
  });
});

describe('max_response_size (issue 14 finding 4)', () => {
  test('the default is 64 MiB; a declared Content-Length over the cap is refused without reading', async () => {
    const { DEFAULT_MAX_RESPONSE_BYTES } = await import('../../src/clients/http/client.ts');
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(64 * 1024 * 1024);
    sink.respondWith({ status: 200, body: 'z'.repeat(5000) });
    const msg = await errorOf(lua(`return kumo.http.build_client{ max_response_size = 1000 }:get('${sink.url}/big'):send():text()`));
    expect(msg).toMatch(/^request or response body error for url \(http:.*\/big\): response body of 5000 bytes \(Content-Length\) is larger than max_response_size \(1000 bytes\)/);
  });

  test('a chunked body is cut while streaming; the status stays readable, smaller bodies pass', async () => {
    sink.enqueue({ status: 200, body: 'z'.repeat(5000), chunked: true }, { status: 200, body: 'small', chunked: true });
    const result = await lua(`
      local c = kumo.http.build_client{ max_response_size = 1000 }
      local r = c:get('${sink.url}/big'):send()
      local ok, err = pcall(r.text, r)
      return { r:status_code(), ok, tostring(err), c:get('${sink.url}/small'):send():text() }
    `);
    expect(result).toEqual([200, false, expect.stringMatching(/response body is larger than max_response_size \(1000 bytes\); the rest was not read/), 'small']);
  });

  test('a bad max_response_size is named', async () => {
    const msg = await errorOf(lua(`kumo.http.build_client{ max_response_size = -1 }`));
    expect(msg).toMatch(/max_response_size|integer `-1`/);
  });
});

describe('failures', () => {
  test('connection refused names the address', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const msg = await errorOf(lua(`kumo.http.build_client{}:get('http://127.0.0.1:${port}'):send()`));
    expect(msg).toBe(`error sending request for url (http://127.0.0.1:${port}/): connection refused to 127.0.0.1:${port}`);
  });

  test('a connection dropped before the response', async () => {
    sink.respondWith({ drop: true });
    const msg = await errorOf(lua(`kumo.http.build_client{}:get('${sink.url}/drop'):send()`));
    expect(msg).toMatch(new RegExp(`^error sending request for url \\(${sink.url}/drop\\): connection to 127\\.0\\.0\\.1:${sink.port} closed before a complete response`));
  });

  test('a connection dropped mid-body fails text()', async () => {
    sink.respondWith({ drop: 'mid-body', body: 'some body text' });
    const result = await lua(`
      local r = kumo.http.build_client{}:get('${sink.url}/half'):send()
      local ok, err = pcall(r.text, r)
      return { r:status_code(), ok, tostring(err) }
    `);
    const [status, ok, message] = result as [number, boolean, string];
    expect(status).toBe(200);
    expect(ok).toBe(false);
    expect(message).toMatch(new RegExp(`^request or response body error for url \\(${sink.url}/half\\): `));
  });

  test('bad URLs and bad headers raise at send(), not before', async () => {
    const result = await lua(`
      local c = kumo.http.build_client{}
      local out = {}
      for _, u in ipairs{ 'not a url', 'ftp://x' } do
        local req = c:get(u)
        local ok, err = pcall(req.send, req)
        out[#out + 1] = tostring(err)
      end
      local req = c:get('${sink.url}/h'):header('X-Bad', 'a\\r\\nb')
      local ok, err = pcall(req.send, req)
      out[#out + 1] = tostring(err)
      return out
    `);
    expect(result).toEqual([
      'builder error: relative URL without a base: "not a url"',
      'builder error for url (ftp://x/): URL scheme is not allowed: ftp',
      `builder error for url (${sink.url}/h): invalid HTTP header value for X-Bad`,
    ]);
    expect(sink.requests).toHaveLength(0);
  });

  test('a closed client refuses new requests; a request built before still works; close twice is fine', async () => {
    const result = await lua(`
      local c = kumo.http.build_client{}
      local early = c:get('${sink.url}/early')
      c:close()
      c:close()
      local ok, err = pcall(c.get, c, '${sink.url}/late')
      return { tostring(err), early:send():status_code() }
    `);
    expect(result).toEqual(['client was closed', 200]);
    expect(sink.requests.map((r) => r.path)).toEqual(['/early']);
  });

  test('build_client option errors use the deserialize error shape', async () => {
    expect(await errorOf(lua(`kumo.http.build_client(nil)`))).toBe('deserialize error: invalid type: nil, expected table, while processing null');
    expect(await errorOf(lua(`kumo.http.build_client{ timeout = 'abc' }`))).toBe(
      'deserialize error: invalid value: string "abc", expected a duration, while processing {"timeout":"abc"}',
    );
    expect(await errorOf(lua(`kumo.http.build_client{ user_agent = 5 }`))).toMatch(/^deserialize error: invalid type: integer `5`, expected a string, while processing/);
    // Unknown keys (e.g. connect_timeout) are ignored.
    expect(await lua(`return kumo.http.build_client{ connect_timeout = 5, pool_idle_timeout = '1m' } ~= nil`)).toBe(true);
  });
});

describe('kumo.http.build_url', () => {
  test('appends pairs form-encoded, keeps the existing query and fragment', async () => {
    expect(await lua(`return kumo.http.build_url('https://Example.com/path?existing=value#frag', { a = 'x y' })`)).toBe(
      'https://example.com/path?existing=value&a=x+y#frag',
    );
    expect(await lua(`return kumo.http.build_url('https://example.com', {})`)).toBe('https://example.com/?');
    expect(await lua(`return kumo.http.build_url('https://example.com/?q=%41', { n = 5 })`)).toBe('https://example.com/?q=%41&n=5');
    expect(await errorOf(lua(`return kumo.http.build_url('nope', {})`))).toBe('relative URL without a base: "nope"');
  });
});

describe('req:aws_sign_v4 (clients.md §1.9)', () => {
  test('signs method, path, sorted query and host from the request and appends Authorization and X-Amz-Date', async () => {
    const result = (await lua(`
      local keys = {
        access_key = { key_data = 'AKIDEXAMPLE' },
        secret_key = { key_data = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
        region = 'us-east-1', service = 's3', timestamp = '2015-08-30T12:36:00Z',
        headers = { ['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD' },
      }
      local client = kumo.http.build_client{}
      local req = client:get('${sink.url}/bucket/key?b=2&a=1&a=3')
      assert(req:aws_sign_v4(keys) == req)
      req:send()
      keys.method = 'GET'
      keys.uri = '/bucket/key'
      keys.query_params = { a = '3', b = '2' }
      keys.headers.host = '127.0.0.1'
      local expected = kumo.crypto.aws_sign_v4(keys)
      return { expected.authorization, expected.timestamp }
    `)) as [string, string];
    const req = sink.requests[0]!;
    expect(req.headers['authorization']).toBe(result[0]);
    expect(req.headers['x-amz-date']).toBe('20150830T123600Z');
    expect(result[0]).toMatch(/SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  test('a request whose URL does not parse raises', async () => {
    expect(await errorOf(newLua().eval(`
      local client = kumo.http.build_client{}
      client:get('not a url'):aws_sign_v4 { access_key = { key_data = 'a' }, secret_key = { key_data = 'b' }, region = 'r', service = 's' }
    `))).toMatch(/failed to clone request builder/);
  });
});
