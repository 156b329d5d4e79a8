import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import PostalMime from 'postal-mime';
import { startHttp, postJson, type HttpFixture } from './setup.ts';

let fx: HttpFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const INJECT = '/api/inject/v1';

const POLICY = `
local kumo = require 'kumo'
kumo.on('http_message_generated', function(msg, auth_info)
  local rcpt = msg:recipient()
  if rcpt.user == 'blocked' then
    kumo.reject(550, '5.7.1 recipient blocked by policy')
  end
  if rcpt.user == 'nowhere' then
    msg:set_meta('queue', 'null')
  end
  msg:set_meta('tenant', 'acme')
  msg:set_meta('x_peer', auth_info.peer_address)
  msg:set_meta('x_groups', auth_info.groups)
end)
`;

describe('POST /api/inject/v1', () => {
  it('templates a full message per recipient, fires http_message_generated, logs Reception, saves and queues', async () => {
    fx = await startHttp({ policy: POLICY });
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 'bounces@sender.example',
      recipients: [
        { email: 'alice@example.com', name: 'Alice', substitutions: { offer: 'tea' }, metadata: { campaign_ref: 7 } },
        { email: 'bob@example.net' },
      ],
      content: 'Subject: hello {{ name }}\nTo: {{ to_header }}\n\nDear {{ name }}, {{ greeting }} {{ offer }}\n',
      substitutions: { greeting: 'have some', offer: 'coffee' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success_count: 2, fail_count: 0, failed_recipients: [], errors: [] });

    expect(fx.intake.inserted.map((m) => m.recipients[0])).toEqual(['alice@example.com', 'bob@example.net']);
    const alice = fx.intake.inserted[0]!;
    const text = Buffer.from(alice.getData()).toString('utf8');
    // Supplemental header first (prepended), no Received header without trace_headers.
    expect(text).toMatch(/^X-KumoRef: [A-Za-z0-9+/=]+\r\nSubject: hello Alice\r\nTo: "Alice" <alice@example.com>\r\n/);
    expect(text).not.toContain('Received:');
    expect(text).toContain('MIME-Version: 1.0\r\n');
    expect(text).toContain('Dear Alice, have some tea\r\n');
    const ref = JSON.parse(Buffer.from(/^X-KumoRef: (\S+)/.exec(text)![1]!, 'base64').toString('utf8'));
    expect(ref).toEqual({ '_@_': '\\_/', recipient: 'alice@example.com' });

    expect(alice.metaObject()).toMatchObject({
      http_auth: '127.0.0.1',
      reception_protocol: 'HTTP',
      received_from: '127.0.0.1',
      received_via: '127.0.0.1',
      hostname: 'mx.test.example',
      extra: { campaign_ref: 7 },
      tenant: 'acme',
      x_peer: '127.0.0.1',
      x_groups: ['kumomta:http-listener-trusted-ip'],
    });
    expect(fx.intake.inserted[1]!.getMeta('extra')).toBeUndefined();
    expect(fx.intake.saved.every((s) => s.deferredSpool === false)).toBe(true);

    const receptions = fx.sink.ofType('Reception');
    expect(receptions).toHaveLength(2);
    expect(receptions[0]).toMatchObject({
      id: alice.id,
      sender: 'bounces@sender.example',
      recipient: 'alice@example.com',
      queue: 'acme@example.com',
      peer_address: { name: '', addr: '127.0.0.1' },
      reception_protocol: 'HTTP',
      response: { code: 250, enhanced_code: null, content: '', command: null },
    });
    expect(fx.sink.lines[0]).not.toContain('session_id');
    expect(fx.metrics.messagesReceived.get({ service: 'http_listener' })).toBe(2);
  });

  it('logs the Reception before inserting, and passes deferred_spool through', async () => {
    fx = await startHttp();
    const order: string[] = [];
    fx.intake.onInsert = () => order.push(`insert after ${fx!.sink.records.length} records`);
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'r@y.example' }], content: 'Subject: x\r\n\r\nbody\r\n', deferred_spool: true,
    });
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
    expect(order).toEqual(['insert after 1 records']);
    expect(fx.intake.saved[0]!.deferredSpool).toBe(true);
  });

  it('counts a kumo.reject in http_message_generated as a failed recipient; the others are queued', async () => {
    fx = await startHttp({ policy: POLICY });
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'ok@y.example' }, { email: 'blocked@y.example' }, { email: 'nowhere@y.example' }],
      content: 'Subject: x\r\n\r\nbody\r\n',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success_count: number; fail_count: number; failed_recipients: string[]; errors: string[] };
    expect(body.success_count).toBe(2);
    expect(body.fail_count).toBe(1);
    expect(body.failed_recipients).toEqual(['blocked@y.example']);
    expect(body.errors[0]).toMatch(/^blocked@y\.example: .*550 5\.7\.1 recipient blocked by policy/);
    // The null-queue recipient counts as success but is neither stored nor logged.
    expect(fx.intake.inserted.map((m) => m.recipients[0])).toEqual(['ok@y.example']);
    expect(fx.intake.saved).toHaveLength(1);
    expect(fx.sink.ofType('Reception').map((r) => r.recipient)).toEqual(['ok@y.example']);
  });

  it('logs a Bounce and fails the recipient when the queue insert fails', async () => {
    fx = await startHttp();
    fx.intake.failInsertFor.add('full@y.example');
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'full@y.example' }], content: 'Subject: x\r\n\r\nb\r\n',
    });
    const body = (await res.json()) as { fail_count: number; errors: string[] };
    expect(body.fail_count).toBe(1);
    expect(body.errors[0]).toBe('full@y.example: KumoMTA internal: QueueManager::insert failed during reception: queue is full');
    expect(fx.sink.records.map((r) => r.type)).toEqual(['Reception', 'Bounce']);
    expect(fx.sink.records[1]!.response).toMatchObject({ code: 500, content: 'KumoMTA internal: QueueManager::insert failed during reception: queue is full' });
  });

  it('builds MIME from the builder form: text, html, attachment, templated headers, From/Reply-To/To', async () => {
    fx = await startHttp();
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 'bounces@sender.example',
      recipients: [{ email: 'carol@example.com', name: 'Carol Ö' }],
      content: {
        text_body: 'Hi {{ name }}\nplain',
        html_body: '<p>Hi {{ name }}</p>',
        subject: 'News for {{ name }}',
        from: { email: 'news@sender.example', name: 'News' },
        reply_to: { email: 'help@sender.example' },
        headers: { 'X-Campaign': 'c-{{ campaign }}' },
        attachments: [{ data: Buffer.from('GIF89a').toString('base64'), base64: true, content_type: 'image/gif', file_name: 'pixel.gif' }],
      },
      substitutions: { campaign: 'summer' },
      trace_headers: { supplemental_header: false },
    });
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
    const raw = Buffer.from(fx.intake.inserted[0]!.getData());
    const text = raw.toString('utf8');
    // trace_headers present ⇒ received_header defaults to true.
    expect(text).toMatch(/^Received: from sender\.example \(127\.0\.0\.1\)\r\n  by .+ \(KumoMTA\)\r\n  with HTTP id [0-9a-f]{32} for <carol@example\.com>;\r\n  \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\n/);
    expect(text).not.toContain('X-KumoRef');
    expect(text).not.toMatch(/[^\r]\n/);
    const parsed = await PostalMime.parse(raw);
    expect(parsed.subject).toBe('News for Carol Ö');
    expect(parsed.from).toMatchObject({ address: 'news@sender.example', name: 'News' });
    expect(parsed.to?.[0]).toMatchObject({ address: 'carol@example.com', name: 'Carol Ö' });
    expect(parsed.replyTo?.[0]).toMatchObject({ address: 'help@sender.example' });
    expect(parsed.text?.trim()).toBe('Hi Carol Ö\r\nplain'.replace(/\r/g, '').trim().replace(/\n/g, '\n'));
    expect(parsed.html).toContain('<p>Hi Carol Ö</p>');
    expect(parsed.headers.find((h) => h.key === 'x-campaign')?.value).toBe('c-summer');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]).toMatchObject({ filename: 'pixel.gif', mimeType: 'image/gif' });
    expect(Buffer.from(parsed.attachments[0]!.content as ArrayBuffer).toString()).toBe('GIF89a');
  });

  it('uses a supplied To header instead of generating one', async () => {
    fx = await startHttp();
    await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'd@y.example' }],
      content: { text_body: 'x', headers: { To: 'list@y.example' } },
    });
    const parsed = await PostalMime.parse(Buffer.from(fx.intake.inserted[0]!.getData()));
    expect(parsed.to?.map((t) => t.address)).toEqual(['list@y.example']);
  });
});

describe('POST /api/inject/v1: refused requests queue nothing', () => {
  const valid = { envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example' }], content: 'Subject: x\r\n\r\nb\r\n' };
  const cases: [string, unknown, number, RegExp][] = [
    ['malformed JSON', '{"envelope_sender": ', 400, /^Error: request body is not valid JSON/],
    ['missing recipients', { envelope_sender: 's@x.example', content: 'x' }, 400, /^Error: recipients: missing field$/],
    ['missing envelope_sender', { recipients: [], content: 'x' }, 400, /^Error: envelope_sender: missing field$/],
    ['missing content', { envelope_sender: 's@x.example', recipients: [] }, 400, /^Error: content: missing field$/],
    ['a bad envelope_sender', { ...valid, envelope_sender: 'no-at-sign' }, 400, /^Error: envelope_sender: invalid address/],
    ['an unknown field', { ...valid, recipient: 'x' }, 400, /^Error: recipient: unknown field$/],
    ['an unknown recipient field', { ...valid, recipients: [{ email: 'a@y.example', emial: 1 }] }, 400, /^Error: recipients\[0\]\.emial: unknown field$/],
    ['a wrongly typed field', { ...valid, deferred_spool: 'yes' }, 400, /^Error: deferred_spool: expected true or false$/],
    ['a template syntax error', { ...valid, content: 'Subject: {{ oops\r\n\r\n' }, 422, /^Error: content: syntax error/],
    ['a builder without text or html', { ...valid, content: { subject: 'x' } }, 422, /^Error: content: at least one of text_body or html_body is required$/],
  ];
  for (const [what, body, status, message] of cases) {
    it(`${what} ⇒ ${status}`, async () => {
      fx = await startHttp();
      const res = await postJson(fx.url + INJECT, body);
      expect(res.status).toBe(status);
      expect(await res.text()).toMatch(message);
      expect(fx.intake.saved).toHaveLength(0);
      expect(fx.sink.records).toHaveLength(0);
    });
  }

  it('wrong content type ⇒ 415, body over the limit ⇒ 413', async () => {
    fx = await startHttp({ config: { request_body_limit: 1000 } });
    const plain = await fetch(fx.url + INJECT, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(valid) });
    expect(plain.status).toBe(415);
    const big = await postJson(fx.url + INJECT, { ...valid, content: 'x'.repeat(2000) });
    expect(big.status).toBe(413);
    expect(await big.text()).toBe('Failed to buffer the request body: length limit exceeded');
    expect(fx.intake.saved).toHaveLength(0);
  });

  it('503 while the server is unavailable', async () => {
    fx = await startHttp();
    fx.health.reason = 'shutting down';
    const res = await postJson(fx.url + INJECT, valid);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('Error: shutting down');
  });
});

describe('POST /api/inject/v1: dialects and unsupported modes', () => {
  it('Static content is not templated', async () => {
    fx = await startHttp();
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example', name: 'A' }],
      content: 'Subject: {{ name }}\r\n\r\n{% raw %}\r\n', template_dialect: 'Static',
    });
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
    expect(Buffer.from(fx.intake.inserted[0]!.getData()).toString()).toContain('Subject: {{ name }}\r\n');
  });

  it('Handlebars templates render per recipient; bad Handlebars syntax ⇒ 422', async () => {
    fx = await startHttp();
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example', name: 'Ann', substitutions: { n: '<3>' } }],
      content: 'Subject: hi {{name}}{{#if n}} {{n}}{{/if}}\r\n\r\nb\r\n', template_dialect: 'Handlebars',
    });
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
    expect(Buffer.from(fx.intake.inserted[0]!.getData()).toString()).toContain('Subject: hi Ann <3>\r\n');
    const bad = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example' }], content: 'Subject: {{#if x}}\r\n\r\nb', template_dialect: 'Handlebars',
    });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toMatch(/^Error: content: /);
  });

  it('deferred_generation ⇒ 400; nothing queued', async () => {
    fx = await startHttp();
    const base = { envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example' }], content: 'Subject: x\r\n\r\nb\r\n' };
    const dg = await postJson(fx.url + INJECT, { ...base, deferred_generation: true });
    expect(dg.status).toBe(400);
    expect(await dg.text()).toBe('Error: deferred_generation: true is not supported by kumo-lua');
    expect(fx.intake.saved).toHaveLength(0);
  });

  it('a render-time template error fails only that recipient', async () => {
    fx = await startHttp();
    const res = await postJson(fx.url + INJECT, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example', substitutions: { user: { first: 'Ann' } } }, { email: 'b@y.example' }],
      content: 'Subject: hi {{ user.first }}\r\n\r\nb\r\n',
    });
    const body = (await res.json()) as { success_count: number; failed_recipients: string[]; errors: string[] };
    expect(body.success_count).toBe(1);
    expect(body.failed_recipients).toEqual(['b@y.example']);
    expect(body.errors[0]).toMatch(/^b@y\.example: content: /);
  });
});

describe('POST /api/inject/v1: bytes and header injection (issue 14 finding 3)', () => {
  const post = (body: Uint8Array) =>
    fetch(fx!.url + INJECT, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('invalid UTF-8 is a 400 naming the byte offset; nothing is queued', async () => {
    fx = await startHttp({ policy: POLICY });
    const prefix = Buffer.from('{"envelope_sender":"a@x.example","recipients":[{"email":"b@y.example"}],"content":"Subject: caf');
    const res = await post(Buffer.concat([prefix, Buffer.from([0xe9]), Buffer.from('\\n\\nhi"}')]));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(`request body is not valid UTF-8: invalid byte 0xe9 at offset ${prefix.length}`);
    expect(fx.intake.inserted).toHaveLength(0);
  });

  it('a U+FFFD the client really sent is accepted as is', async () => {
    fx = await startHttp({ policy: POLICY });
    const res = await post(Buffer.from('{"envelope_sender":"a@x.example","recipients":[{"email":"b@y.example"}],"content":"Subject: \uFFFD\\n\\nhi"}', 'utf8'));
    expect(res.status).toBe(200);
    expect(Buffer.from(fx.intake.inserted[0]!.getData()).toString('utf8')).toContain('Subject: \uFFFD\r\n');
  });

  it('a substitution in a raw content template is not escaped (documented); the builder form keeps it in its header', async () => {
    fx = await startHttp({ policy: POLICY });
    const evil = { subject: 'hi\r\nBcc: victim@z.example' };
    await postJson(fx.url + INJECT, {
      envelope_sender: 'a@x.example',
      recipients: [{ email: 'b@y.example', substitutions: evil }],
      content: 'Subject: {{ subject }}\n\nbody\n',
    });
    await postJson(fx.url + INJECT, {
      envelope_sender: 'a@x.example',
      recipients: [{ email: 'b@y.example', substitutions: evil }],
      content: { subject: '{{ subject }}', text_body: 'body' },
    });
    await postJson(fx.url + INJECT, {
      envelope_sender: 'a@x.example',
      recipients: [{ email: 'b@y.example', substitutions: evil }],
      content: "Subject: {{ subject | replace('\\r', '') | replace('\\n', '') }}\n\nbody\n",
    });
    const [raw, built, stripped] = fx.intake.inserted.map((m) => Buffer.from(m.getData()).toString('utf8'));
    expect(raw).toMatch(/\r\nBcc: victim@z\.example\r\n/);
    expect(built).not.toMatch(/^Bcc:/m);
    // the README's safe alternative for raw templates
    expect(stripped).toContain('Subject: hiBcc: victim@z.example\r\n');
  });
});
