import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture | undefined;
let client: RawSmtpClient | undefined;

const POLICY = `
local kumo = require 'kumo'
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  local subject = msg:get_first_named_header_value('Subject') or ''
  if subject:find('reject me') then
    kumo.reject(550, '5.7.1 content rejected by policy')
  end
  if subject:find('go away') then
    kumo.reject(421, '4.7.0 try again later')
  end
  if subject:find('explode') then
    error('policy bug')
  end
  msg:set_meta('tenant', 'acme')
  msg:set_meta('x_ehlo_seen', conn_meta:get_meta('ehlo_domain'))
end)
`;

async function dialogue(port: number, ehlo = 'client.example'): Promise<RawSmtpClient> {
  const c = await connectSmtp(port);
  const greeting = await c.reply();
  expect(greeting.code).toBe(220);
  expect((await c.command(`EHLO ${ehlo}`)).code).toBe(250);
  return c;
}

describe('ESMTP listener', () => {
  it('accepts a message per recipient: meta, Received header, policy event, Reception records, 250 OK ids=', async () => {
    fx = await startSmtp({ policy: POLICY });
    client = await dialogue(fx.port);
    expect((await client.command('MAIL FROM:<sender@origin.example>')).code).toBe(250);
    expect((await client.command('RCPT TO:<a@dest.example>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@other.example>')).code).toBe(250);
    const done = await client.data('Subject: hello\r\nFrom: sender@origin.example\r\n\r\nbody line\r\n.leading dot\r\n');
    expect(done.code).toBe(250);
    const ids = fx.intake.inserted.map((m) => m.id);
    expect(ids).toHaveLength(2);
    expect(done.text).toBe(`OK ids=${ids.join(' ')}`);

    const [a, b] = fx.intake.inserted;
    expect(a!.recipients).toEqual(['a@dest.example']);
    expect(b!.recipients).toEqual(['b@other.example']);
    expect(a!.sender).toBe('sender@origin.example');
    expect(a!.metaObject()).toMatchObject({
      reception_protocol: 'ESMTP',
      hostname: 'mx.test.example',
      ehlo_domain: 'client.example',
      tenant: 'acme',
      x_ehlo_seen: 'client.example',
    });
    expect(a!.getMeta('received_from')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(a!.getMeta('received_via')).toBe(`127.0.0.1:${fx.port}`);
    const text = Buffer.from(a!.getData()).toString('utf8');
    expect(text).toMatch(/^X-KumoRef: \S+\r\nReceived: from client\.example \(127\.0\.0\.1\)\r\n  by mx\.test\.example \(KumoMTA\)\r\n  with ESMTP id [0-9a-f]{32} for <a@dest\.example>;\r\n/);
    expect(text).toContain('\r\nSubject: hello\r\n');
    expect(text).toContain('\r\n.leading dot\r\n');

    const receptions = fx.sink.ofType('Reception');
    expect(receptions.map((r) => r.recipient)).toEqual(['a@dest.example', 'b@other.example']);
    expect(receptions[0]).toMatchObject({
      id: a!.id,
      queue: 'acme@dest.example',
      peer_address: { name: 'client.example', addr: '127.0.0.1' },
      reception_protocol: 'ESMTP',
      size: a!.getData().length,
    });
    expect(receptions[0]!.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(receptions[1]!.session_id).toBe(receptions[0]!.session_id);
    expect(fx.metrics.messagesReceived.get({ service: 'esmtp_listener' })).toBe(2);
  });

  it('rejects the whole transaction with the kumo.reject reply, logs a Rejection, keeps the connection', async () => {
    fx = await startSmtp({ policy: POLICY });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@dest.example>');
    await client.command('RCPT TO:<b@dest.example>');
    const r = await client.data('Subject: please reject me\r\n\r\nx\r\n');
    expect(r.code).toBe(550);
    expect(r.text).toBe('5.7.1 content rejected by policy');
    expect(fx.intake.saved).toHaveLength(0);
    expect(fx.sink.ofType('Reception')).toHaveLength(0);
    const rejections = fx.sink.ofType('Rejection');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({
      id: '', sender: '', recipient: '', queue: '', size: 0,
      response: { code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'content rejected by policy', command: 'DATA' },
      peer_address: { name: 'client.example', addr: '127.0.0.1' },
      reception_protocol: null,
    });
    expect(rejections[0]!.meta).toMatchObject({ reception_protocol: 'ESMTP', ehlo_domain: 'client.example' });
    expect(fx.metrics.smtpRejections.get({ service: 'total' })).toBe(1);
    // Still usable: a second transaction goes through.
    expect((await client.command('MAIL FROM:<s@origin.example>')).code).toBe(250);
    await client.command('RCPT TO:<a@dest.example>');
    expect((await client.data('Subject: fine\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx.intake.inserted).toHaveLength(1);
  });

  it('closes the connection after a 421 rejection; a Lua error becomes 421 technical difficulties', async () => {
    fx = await startSmtp({ policy: POLICY });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@dest.example>');
    const r = await client.data('Subject: go away\r\n\r\nx\r\n');
    expect(r.code).toBe(421);
    expect(r.text).toBe('4.7.0 try again later');
    await client.waitClosed();
    client.close();

    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@dest.example>');
    const e = await client.data('Subject: explode\r\n\r\nx\r\n');
    expect(e.code).toBe(421);
    expect(e.text).toBe('4.3.0 mx.test.example technical difficulties');
    await client.waitClosed();
    expect(fx.log.lines.some((l) => l.message.includes('policy bug'))).toBe(true);
    expect(fx.sink.ofType('Rejection').map((x) => x.response.code)).toEqual([421, 421]);
    expect(fx.intake.saved).toHaveLength(0);
  });

  it('denies relaying for peers outside relay_hosts with a Rejection naming the RCPT', async () => {
    fx = await startSmtp({ config: { relay_hosts: ['10.0.0.0/8'] } });
    client = await dialogue(fx.port, 'outsider.example');
    await client.command('MAIL FROM:<s@origin.example>');
    const r = await client.command('RCPT TO:<victim@dest.example>');
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/^5\.7\.1 relaying not permitted for 127\.0\.0\.1:\d+$/);
    const rej = fx.sink.ofType('Rejection');
    expect(rej).toHaveLength(1);
    expect(rej[0]).toMatchObject({
      sender: 's@origin.example',
      recipient: '',
      response: { code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, command: 'RCPT TO:<victim@dest.example>' },
      peer_address: { name: 'outsider.example', addr: '127.0.0.1' },
    });
  });

  it('refuses an oversized message with 552 5.3.4 and too many recipients with 452 4.5.3', async () => {
    fx = await startSmtp({ config: { max_message_size: 1024, max_recipients_per_message: 2 } });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<a@dest.example>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@dest.example>')).code).toBe(250);
    const third = await client.command('RCPT TO:<c@dest.example>');
    expect(third.code).toBe(452);
    expect(third.text).toBe('4.5.3 too many recipients');
    const big = await client.data('Subject: big\r\n\r\n' + 'y'.repeat(70).concat('\r\n').repeat(30));
    expect(big.code).toBe(552);
    expect(big.text).toBe('5.3.4 message too big');
    expect(fx.intake.saved).toHaveLength(0);
    const rej = fx.sink.ofType('Rejection');
    expect(rej.map((r) => [r.response.code, r.recipient])).toEqual([[452, 'b@dest.example'], [552, '']]);
  });

  it('speaks STARTTLS with a generated certificate; TLS details reach meta and the Reception record', async () => {
    fx = await startSmtp();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: fx.port, secure: false, requireTLS: true, name: 'tls-client.example',
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      envelope: { from: 'a@origin.example', to: ['r@dest.example'] },
      raw: 'Subject: over tls\r\nFrom: a@origin.example\r\n\r\nsecret\r\n',
    });
    transport.close();
    expect(info.response).toMatch(/^250 OK ids=[0-9a-f]{32}$/);
    const msg = fx.intake.inserted[0]!;
    expect(msg.getMeta('tls_protocol_version')).toMatch(/^TLSv1_[23]$/);
    expect(typeof msg.getMeta('tls_cipher')).toBe('string');
    expect(Buffer.from(msg.getData()).toString()).toContain('with ESMTPS id');
    const rec = fx.sink.ofType('Reception')[0]!;
    expect(rec.tls_protocol_version).toBe(msg.getMeta('tls_protocol_version'));
    expect(rec.peer_address).toEqual({ name: 'tls-client.example', addr: '127.0.0.1' });
  });

  it('a null queue is logged as Reception but neither saved nor inserted', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'\nkumo.on('smtp_server_message_received', function(msg) msg:set_meta('queue', 'null') end)` });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@dest.example>');
    expect((await client.data('Subject: x\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx.intake.saved).toHaveLength(0);
    expect(fx.intake.inserted).toHaveLength(0);
    expect(fx.sink.ofType('Reception')).toHaveLength(1);
    expect(fx.sink.ofType('Reception')[0]!.queue).toBe('null');
  });
});

describe('ESMTP listener: disconnects and gates', () => {
  it('kumo.disconnect closes after the reply; FollowWith421 sends the extra 421 first', async () => {
    fx = await startSmtp({
      policy: `local kumo = require 'kumo'
kumo.on('smtp_server_message_received', function(msg)
  local s = msg:get_first_named_header_value('Subject')
  if s == 'follow' then kumo.disconnect(550, '5.7.0 bye', 'FollowWith421') end
  kumo.disconnect(554, '5.7.0 go')
end)`,
    });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@o.example>');
    await client.command('RCPT TO:<a@d.example>');
    expect((await client.data('Subject: plain\r\n\r\nx\r\n')).text).toBe('5.7.0 go');
    await client.waitClosed();
    client.close();

    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@o.example>');
    await client.command('RCPT TO:<a@d.example>');
    expect((await client.data('Subject: follow\r\n\r\nx\r\n')).code).toBe(550);
    const extra = await client.reply();
    expect(extra).toMatchObject({ code: 421, text: 'mx.test.example disconnecting due to previous error' });
    await client.waitClosed();
  });

  it('refuses connections while unavailable with 421 4.3.2 (no Rejection record) and counts them', async () => {
    fx = await startSmtp({ config: { max_connections: 1 } });
    client = await connectSmtp(fx.port);
    expect((await client.reply()).code).toBe(220);
    const second = await connectSmtp(fx.port);
    const refused = await second.reply();
    second.close();
    expect(refused).toMatchObject({ code: 421, text: '4.3.2 mx.test.example too many concurrent sessions. Try later' });
    expect(fx.metrics.connectionsDenied.get({ service: 'esmtp_listener' })).toBe(1);
    expect(fx.metrics.connectionCount.get({ service: 'esmtp_listener' })).toBe(1);
    expect(fx.sink.records).toHaveLength(0);
  });
});

describe('ESMTP listener: multi-line rejections', () => {
  it('a kumo.reject text with line breaks becomes a multi-line reply; the Rejection folds it', async () => {
    fx = await startSmtp({
      policy: `local kumo = require 'kumo'
kumo.on('smtp_server_message_received', function(msg) kumo.reject(550, '5.7.1 first line\\n5.7.1 second line') end)`,
    });
    client = await dialogue(fx.port);
    await client.command('MAIL FROM:<s@o.example>');
    await client.command('RCPT TO:<a@d.example>');
    const r = await client.data('Subject: x\r\n\r\nx\r\n');
    expect(r).toMatchObject({ code: 550, lines: ['5.7.1 first line', '5.7.1 second line'] });
    expect(fx.sink.ofType('Rejection')[0]!.response).toEqual({
      code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'first line second line', command: 'DATA',
    });
    expect((await client.command('NOOP')).code).toBe(250);
  });
});
