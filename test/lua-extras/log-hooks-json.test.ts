import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, type TestContext } from '../helpers/lua.ts';
import { fire, PRELUDE } from '../helpers/lua-extras.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

const SECRET_BYTES = Buffer.from('a test signing key of 32 bytes!!');
const WHSEC = `whsec_${SECRET_BYTES.toString('base64')}`;

let sink: WebhookSink;
beforeEach(async () => {
  sink = await WebhookSink.start();
});
afterEach(async () => {
  await sink.close();
});

/**
 * Loads a policy calling log_hooks:new_json with `options` (Lua table body),
 * creates MSG/MSG2 and builds a connection in CONN through the constructor event.
 */
async function connect(options: string): Promise<TestContext> {
  const t = newLua();
  await t.load(PRELUDE, 'prelude.lua');
  await t.load(`local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'wh', ${options} }
MSG = make_msg('{"type":"Delivery","id":"one"}\\n', { type = 'Delivery' })
MSG2 = make_msg('{"type":"Bounce","id":"two"}\\n', { type = 'Bounce' })
DOMAIN = 'wh.log_hook'`, 'init.lua');
  const r = await fire(t, 'make.wh.log_hook', ['DOMAIN', 'nil', 'nil'], 'CONN');
  expect(r.handled).toBe(true);
  return t;
}

/** Calls CONN:<call> under pcall: { ok, text, code }; for a kumo.reject, code and text are its code and message. */
async function attempt(t: TestContext, call = 'send(MSG)') {
  return (await t.eval(`local ok, r = pcall(function() return CONN:${call} end)
    if ok then return { ok = true, text = r } end
    if type(r) == 'userdata' then return { ok = false, text = r.message, code = r.code } end
    return { ok = false, text = tostring(r) }`)) as { ok: boolean; text: string; code?: number };
}

describe('log_hooks:new_json delivery', () => {
  it('POSTs the message body as JSON and returns "<status> <reason>: <body>"', async () => {
    sink.respondWith({ status: 200, body: 'stored' });
    const t = await connect(`url = '${sink.url}/ingest'`);
    expect(await attempt(t)).toEqual({ ok: true, text: '200 OK: stored' });
    expect(sink.requests).toHaveLength(1);
    const req = sink.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/ingest');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.text()).toBe('{"type":"Delivery","id":"one"}\n');
    expect(req.headers['authorization']).toBeUndefined();
    expect(req.headers['webhook-signature']).toBeUndefined();
    expect(req.headers['webhook-id']).toBe(await t.eval('return MSG:id()'));
  });

  it('registers the queue config with the constructor event', async () => {
    const t = await connect(`url = '${sink.url}/'`);
    await fire(t, 'get_queue_config', ['DOMAIN', 'nil', 'nil', 'nil']);
    expect(await t.eval('return CALLS.make_queue_config[#CALLS.make_queue_config].protocol')).toEqual({ custom_lua: { constructor: 'make.wh.log_hook' } });
  });

  it('retries (kumo.reject 451) on 5xx, 408 and 429, keeping the HTTP status and Retry-After in the text', async () => {
    sink.enqueue(
      { status: 503, body: 'busy', headers: { 'retry-after': '120' } },
      { status: 429, body: 'slow down' },
      { status: 408, body: '' },
      { status: 500, body: 'oops' },
    );
    const t = await connect(`url = '${sink.url}/'`);
    expect(await attempt(t)).toEqual({ ok: false, code: 451, text: '503 Service Unavailable: busy (Retry-After: 120)' });
    expect(await attempt(t)).toMatchObject({ ok: false, code: 451, text: '429 Too Many Requests: slow down' });
    expect(await attempt(t)).toMatchObject({ ok: false, code: 451, text: '408 Request Timeout: ' });
    expect(await attempt(t)).toMatchObject({ ok: false, code: 451, text: '500 Internal Server Error: oops' });
  });

  it('bounces (kumo.reject 500) on other 4xx', async () => {
    sink.enqueue({ status: 404, body: 'no such hook' }, { status: 400, body: 'bad json' });
    const t = await connect(`url = '${sink.url}/'`);
    expect(await attempt(t)).toEqual({ ok: false, code: 500, text: '404 Not Found: no such hook' });
    expect(await attempt(t)).toEqual({ ok: false, code: 500, text: '400 Bad Request: bad json' });
  });

  it('turns a transport error into a retry (451) instead of an escaped error', async () => {
    const closed = await WebhookSink.start();
    const deadUrl = `${closed.url}/`;
    await closed.close();
    const t = await connect(`url = '${deadUrl}'`);
    const r = await attempt(t);
    expect(r.ok).toBe(false);
    expect(r.code).toBe(451);
    expect(r.text).toContain(`POST ${deadUrl} failed: error sending request`);
  });

  it('turns a dropped connection into a retry too', async () => {
    sink.enqueue({ drop: true });
    const t = await connect(`url = '${sink.url}/'`);
    expect(await attempt(t)).toMatchObject({ ok: false, code: 451 });
  });

  it('cuts very long response bodies in the disposition text', async () => {
    sink.respondWith({ status: 502, body: 'x'.repeat(10_000) });
    const t = await connect(`url = '${sink.url}/'`);
    const r = await attempt(t);
    expect(r.text.length).toBeLessThan(4200);
    expect(r.text.endsWith('x...')).toBe(true);
  });

  it('close() closes the HTTP client', async () => {
    const t = await connect(`url = '${sink.url}/'`);
    await t.eval('CONN:close()');
    const r = await attempt(t);
    expect(r.ok).toBe(false);
    expect(r.text).toContain('client was closed');
  });
});

describe('log_hooks:new_json batching', () => {
  it('send_batch POSTs a JSON array of the bodies', async () => {
    const t = await connect(`url = '${sink.url}/batch', batch_size = 100, max_batch_latency = '1s'`);
    expect(await attempt(t, 'send_batch({ MSG, MSG2 })')).toEqual({ ok: true, text: '200 OK: ' });
    const ids = (await t.eval('return { MSG:id(), MSG2:id() }')) as string[];
    expect(sink.requests[0]!.json()).toEqual([
      { webhook_id: ids[0], type: 'Delivery', id: 'one' },
      { webhook_id: ids[1], type: 'Bounce', id: 'two' },
    ]);
    await fire(t, 'get_queue_config', ['DOMAIN', 'nil', 'nil', 'nil']);
    expect(await t.eval('return CALLS.make_queue_config[#CALLS.make_queue_config].protocol.custom_lua')).toEqual({
      constructor: 'make.wh.log_hook',
      batch_size: 100,
      max_batch_latency: '1s',
    });
  });

  it('a failed batch is one outcome for all its messages', async () => {
    sink.respondWith({ status: 503, body: 'later' });
    const t = await connect(`url = '${sink.url}/', batch_size = 10`);
    expect(await attempt(t, 'send_batch({ MSG, MSG2 })')).toMatchObject({ ok: false, code: 451 });
  });
});

describe('log_hooks:new_json redirects and idempotency keys (issue 14 finding 1)', () => {
  it.each([301, 302, 303, 307, 308])('a %i is a transient failure naming the Location; nothing is followed', async (status) => {
    sink.enqueue({ status, headers: { location: '/moved' } }, { status: 200, body: 'a GET landed' });
    const t = await connect(`url = '${sink.url}/hook'`);
    const r = await attempt(t);
    expect(r).toMatchObject({ ok: false, code: 451 });
    expect(r.text).toContain(`redirect to /moved not followed`);
    expect(sink.requests.map((q) => [q.method, q.path])).toEqual([['POST', '/hook']]);
  });

  it('a 3xx without a Location still bounces', async () => {
    sink.enqueue({ status: 300, body: 'choose' });
    const t = await connect(`url = '${sink.url}/'`);
    expect(await attempt(t)).toEqual({ ok: false, code: 500, text: '300 Multiple Choices: choose' });
  });

  it('every retry of one record carries the same webhook-id (unsigned too); another record another one', async () => {
    sink.enqueue({ status: 503 }, { status: 503 }, { status: 200 }, { status: 200 });
    const t = await connect(`url = '${sink.url}/'`);
    await attempt(t);
    await attempt(t);
    await attempt(t);
    await attempt(t, 'send(MSG2)');
    const [id1, id2] = (await t.eval('return { MSG:id(), MSG2:id() }')) as string[];
    expect(sink.requests.map((q) => q.headers['webhook-id'])).toEqual([id1, id1, id1, id2]);
    expect(id1).not.toBe(id2);
  });

  it('a batch carries each record\'s own key, also for records that are not JSON objects', async () => {
    const t = await connect(`url = '${sink.url}/', batch_size = 10`);
    await t.eval(`MSG3 = make_msg('[1,2]\\n') MSG4 = make_msg('{}')`);
    await attempt(t, 'send_batch({ MSG3, MSG4 })');
    const [id3, id4] = (await t.eval('return { MSG3:id(), MSG4:id() }')) as string[];
    expect(sink.requests[0]!.json()).toEqual([{ webhook_id: id3, record: [1, 2] }, { webhook_id: id4 }]);
  });

  it('a batch body trims only trailing CR/LF of each record and keeps a leading-space object an object', async () => {
    const t = await connect(`url = '${sink.url}/', batch_size = 10`);
    await t.eval(`MSG5 = make_msg('  {"a":"x\\\\n"}\\r\\n\\n') MSG6 = make_msg('"s"')`);
    await attempt(t, 'send_batch({ MSG5, MSG6 })');
    const [id5, id6] = (await t.eval('return { MSG5:id(), MSG6:id() }')) as string[];
    expect(sink.requests[0]!.text()).toBe(`[{"webhook_id":"${id5}","a":"x\\n"},{"webhook_id":"${id6}","record":"s"}]`);
  });

  it('an oversized answer is not read: the status still decides', async () => {
    sink.respondWith({ status: 200, body: 'y'.repeat(2 * 1024 * 1024) });
    const t = await connect(`url = '${sink.url}/'`);
    const r = await attempt(t);
    expect(r.ok).toBe(true);
    expect(r.text).toMatch(/^200 OK: \(response body could not be read: .*max_response_size \(1048576 bytes\)/);
  });
});

describe('log_hooks:new_json authentication and headers', () => {
  it('adds extra headers and a bearer token', async () => {
    const t = await connect(`url = '${sink.url}/', headers = { ['X-Source'] = 'kumo-lua', ['X-Env'] = 'test' }, bearer_token = 's3cret'`);
    await attempt(t);
    const h = sink.requests[0]!.headers;
    expect([h['x-source'], h['x-env'], h['authorization']]).toEqual(['kumo-lua', 'test', 'Bearer s3cret']);
  });

  it('adds basic auth', async () => {
    const t = await connect(`url = '${sink.url}/', basic_auth = { username = 'u', password = 'p' }`);
    await attempt(t);
    expect(sink.requests[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('passes user_agent to the client', async () => {
    const t = await connect(`url = '${sink.url}/', user_agent = 'kumo-lua-test/1'`);
    await attempt(t);
    expect(sink.requests[0]!.headers['user-agent']).toBe('kumo-lua-test/1');
  });
});

/** Checks a Standard Webhooks signature the way a receiver would. */
function verifySignature(key: Buffer, headers: Record<string, unknown>, body: string): void {
  const id = headers['webhook-id'] as string;
  const ts = headers['webhook-timestamp'] as string;
  expect(ts).toMatch(/^\d{10}$/);
  const expected = crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  expect(headers['webhook-signature']).toBe(`v1,${expected}`);
}

describe('log_hooks:new_json Standard Webhooks signing', () => {
  it('signs with a whsec_ secret: webhook-id is the message id', async () => {
    const t = await connect(`url = '${sink.url}/', signing_secret = '${WHSEC}'`);
    await attempt(t);
    const req = sink.requests[0]!;
    expect(req.headers['webhook-id']).toBe(await t.eval('return MSG:id()'));
    verifySignature(SECRET_BYTES, req.headers, req.text());
  });

  it('accepts a KeySource table holding either a whsec_ string or raw key bytes', async () => {
    const t1 = await connect(`url = '${sink.url}/', signing_secret = { key_data = '${WHSEC}' }`);
    await attempt(t1);
    verifySignature(SECRET_BYTES, sink.requests[0]!.headers, sink.requests[0]!.text());
    const t2 = await connect(`url = '${sink.url}/', signing_secret = { key_data = 'raw-key' }`);
    await attempt(t2);
    verifySignature(Buffer.from('raw-key'), sink.requests[1]!.headers, sink.requests[1]!.text());
  });

  it('signs a batch with a stable id derived from the message ids', async () => {
    const t = await connect(`url = '${sink.url}/', batch_size = 5, signing_secret = '${WHSEC}'`);
    await attempt(t, 'send_batch({ MSG, MSG2 })');
    await attempt(t, 'send_batch({ MSG, MSG2 })');
    const [a, b] = sink.requests;
    expect(a!.headers['webhook-id']).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(b!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
    verifySignature(SECRET_BYTES, a!.headers, a!.text());
  });

  it('reads a KeySource file (whsec_ text) at connection time when kumo.secrets.load exists', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whsec-'));
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, `${WHSEC}\n`);
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    await t.load(`require('policy-extras.log_hooks'):new_json { name = 'wh', url = '${sink.url}/', signing_secret = '${file}' }
      MSG = make_msg('{}\\n', { type = 'Delivery' })
      DOMAIN = 'wh.log_hook'
      local kumo = require 'kumo'; HAS_SECRETS = kumo.secrets ~= nil and rawget(kumo.secrets, 'load') ~= nil`, 'init.lua');
    if (await t.eval('return HAS_SECRETS')) {
      await fire(t, 'make.wh.log_hook', ['DOMAIN', 'nil', 'nil'], 'CONN');
      await attempt(t);
      verifySignature(SECRET_BYTES, sink.requests[0]!.headers, sink.requests[0]!.text());
    } else {
      await expect(fire(t, 'make.wh.log_hook', ['DOMAIN', 'nil', 'nil'], 'CONN')).rejects.toThrow(/signing_secret: kumo\.secrets\.load is needed/);
    }
  });
});

describe('log_hooks:new_json option validation', () => {
  async function loadError(options: string): Promise<string> {
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    await t.load(`local ok, err = pcall(function() require('policy-extras.log_hooks'):new_json { ${options} } end)\nERR = tostring(err)`, 'init.lua');
    return (await t.eval('return ERR')) as string;
  }

  it('names the bad option', async () => {
    expect(await loadError(`name = 'w'`)).toMatch(/log_hooks:new_json: missing field `url`/);
    expect(await loadError(`name = 'w', url = 'ftp://x/'`)).toMatch(/log_hooks:new_json: url: "ftp:\/\/x\/" is not an http:\/\/ or https:\/\/ URL/);
    expect(await loadError(`name = 'w', url = 'http://x/', constructor = print`)).toMatch(/log_hooks:new_json: unknown field `constructor`/);
    expect(await loadError(`name = 'w', url = 'http://x/', headers = { ['X-A'] = 1 }`)).toMatch(/log_hooks:new_json: headers\["X-A"\]: invalid type: integer `1`, expected a string/);
    expect(await loadError(`name = 'w', url = 'http://x/', headers = { ['Content-Type'] = 'text/plain' }`)).toMatch(/log_hooks:new_json: headers: "Content-Type" is set by log_hooks:new_json itself/);
    expect(await loadError(`name = 'w', url = 'http://x/', bearer_token = 'a', basic_auth = { username = 'u' }`)).toMatch(/bearer_token and basic_auth cannot both be set/);
    expect(await loadError(`name = 'w', url = 'http://x/', basic_auth = { user = 'u' }`)).toMatch(/log_hooks:new_json: basic_auth: unknown field `user`, expected one of `password`, `username`/);
    expect(await loadError(`name = 'w', url = 'http://x/', signing_secret = 'whsec_***'`)).toMatch(/log_hooks:new_json: signing_secret: the part after whsec_ is not valid base64/);
    expect(await loadError(`name = 'w', url = 'http://x/', signing_secret = 42`)).toMatch(/log_hooks:new_json: signing_secret: integer `42` did not match any of string \| table/);
    expect(await loadError(`name = 'w', url = 'http://x/', timeout = 'soon'`)).toMatch(/log_hooks:new_json: timeout: invalid value: string "soon", expected a duration/);
  });
});
