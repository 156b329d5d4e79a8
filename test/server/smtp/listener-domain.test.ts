import { describe, expect, it } from 'vitest';
import type { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';
import { ARF, DSN } from './report-fixtures.ts';

let fx: SmtpFixture | undefined;
let client: RawSmtpClient | undefined;

/** The peer (127.0.0.1) is not a relay host: only listener domains can allow relaying. */
const NO_RELAY = { relay_hosts: ['10.0.0.0/8'] };

const POLICY = `
local kumo = require 'kumo'
calls = {}
kumo.on('get_listener_domain', function(domain, listener, conn_meta)
  table.insert(calls, domain .. ' ' .. listener)
  if domain == 'open.example' then return kumo.make_listener_domain { relay_to = true } end
  if domain == 'trusted.example' then return kumo.make_listener_domain { relay_from = { '127.0.0.0/8' } } end
  if domain == 'elsewhere.example' then return kumo.make_listener_domain { relay_from = { '10.9.0.0/16' } } end
  if domain == 'dsn.example' then return kumo.make_listener_domain { log_oob = 'LogThenDrop' } end
  if domain == 'fbl.example' then return kumo.make_listener_domain { log_arf = 'LogThenRelay' } end
  if domain == 'broken.example' then error('listener domain lookup failed') end
  return nil
end)
`;

async function session(fixture: SmtpFixture): Promise<RawSmtpClient> {
  const c = await connectSmtp(fixture.port);
  expect((await c.reply()).code).toBe(220);
  expect((await c.command('EHLO client.example')).code).toBe(250);
  return c;
}

describe('listener domains during reception', () => {
  it('refuses an unconfigured domain for a non-relay peer with 550 naming ip:port (checklist 13)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<s@origin.example>');
    const r = await client.command('RCPT TO:<x@unknown.example>');
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/^5\.7\.1 relaying not permitted for 127\.0\.0\.1:\d+$/);
    expect(fx.sink.ofType('Rejection')[0]!.response.command).toBe('RCPT TO:<x@unknown.example>');
  });

  it('relay_to accepts any peer; relay_from of the sender domain allows any recipient domain (checklist 14)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<a@open.example>')).code).toBe(250);
    expect((await client.command('RCPT TO:<b@unknown.example>')).code).toBe(550);
    expect((await client.data('Subject: one\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx.intake.inserted.map((m) => m.recipients)).toEqual([['a@open.example']]);

    await client.command('MAIL FROM:<s@trusted.example>');
    expect((await client.command('RCPT TO:<b@unknown.example>')).code).toBe(250);
    expect((await client.data('Subject: two\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx.intake.inserted.map((m) => m.recipients[0])).toEqual(['a@open.example', 'b@unknown.example']);

    // relay_from that does not contain the peer, and relay_from on the recipient's domain, do nothing.
    await client.command('MAIL FROM:<s@elsewhere.example>');
    expect((await client.command('RCPT TO:<b@unknown.example>')).code).toBe(550);
    await client.command('RSET');
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<b@trusted.example>')).code).toBe(550);
  });

  it('fires for the sender then the recipient domain with the local ip:port; the session cache answers repeats (checklist 15)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<s@Origin.example>');
    await client.command('RCPT TO:<a@open.example>');
    await client.command('RCPT TO:<b@open.example>');
    await client.data('Subject: x\r\n\r\nx\r\n');
    const listener = `127.0.0.1:${fx.port}`;
    expect(await fx.lua.eval('return calls')).toEqual([`Origin.example ${listener}`, `open.example ${listener}`]);
    client.close();
    // A new session has its own cache.
    client = await session(fx);
    await client.command('MAIL FROM:<s@Origin.example>');
    await client.command('RCPT TO:<a@open.example>');
    expect(await fx.lua.eval('return #calls')).toBe(4);
  });

  it('log_oob = LogThenDrop: a DSN is logged as Reception plus one OOB per failed recipient, not spooled, 250 (checklist 16)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<>');
    expect((await client.command('RCPT TO:<bounces@dsn.example>')).code).toBe(250);
    const done = await client.data(DSN);
    expect(done.code).toBe(250);
    expect(done.text).toMatch(/^OK ids=[0-9a-f]{32}$/);
    expect(fx.intake.saved).toHaveLength(0);
    expect(fx.intake.inserted).toHaveLength(0);
    const [reception] = fx.sink.ofType('Reception');
    expect(reception).toMatchObject({ recipient: 'bounces@dsn.example', sender: '' });
    const oob = fx.sink.ofType('OOB');
    expect(oob).toHaveLength(1);
    expect(oob[0]).toMatchObject({
      id: reception!.id,
      sender: 'bounces@dsn.example',
      recipient: 'user@remote.example',
      size: 0,
      num_attempts: 0,
      response: { code: 550, enhanced_code: { class: 5, subject: 1, detail: 1 }, content: '5.1.1 no such user', command: null },
      peer_address: { name: 'mx.remote.example', addr: '127.0.0.1' },
      event_time: '2026-12-03T10:05:00Z',
      delivery_protocol: null,
      session_id: reception!.session_id,
    });
    // A plain message to the same domain is not relayed: nothing was seen, nothing kept.
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<bounces@dsn.example>');
    const plain = await client.data('Subject: not a report\r\n\r\nx\r\n');
    expect(plain.code).toBe(550);
    expect(plain.text).toBe('5.7.1 relaying not permitted');
    expect(fx.intake.saved).toHaveLength(0);
  });

  it('log_arf = LogThenRelay: an ARF report is logged as Feedback instead of Reception and queued (checklist 17)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<fbl@isp.example>');
    expect((await client.command('RCPT TO:<fbl@fbl.example>')).code).toBe(250);
    expect((await client.data(ARF)).code).toBe(250);
    expect(fx.sink.ofType('Reception')).toHaveLength(0);
    const [feedback] = fx.sink.ofType('Feedback');
    expect(fx.intake.inserted.map((m) => m.id)).toEqual([feedback!.id]);
    expect(feedback).toMatchObject({ reception_protocol: 'ESMTP', peer_address: { name: 'client.example', addr: '127.0.0.1' } });
    expect(feedback!.feedback_report).toMatchObject({
      feedback_type: 'abuse',
      user_agent: 'SomeGenerator/1.0',
      version: '1',
      incidents: 3,
      source_ip: '192.0.2.1',
      original_rcpto_to: ['<victim@isp.example>'],
      reporting_mta: { mta_type: 'dns', name: 'mail.isp.example' },
      extensions: { 'x-extra': ['one', 'two'] },
      supplemental_trace: { '_@_': '\\_/', recipient: 'victim@isp.example' },
    });
    expect(Object.keys(feedback!.feedback_report!)).toEqual([
      'feedback_type', 'user_agent', 'version', 'arrival_date', 'incidents', 'original_envelope_id', 'original_mail_from', 'reporting_mta',
      'source_ip', 'authentication_results', 'original_rcpto_to', 'reported_domain', 'reported_uri', 'extensions', 'original_message', 'supplemental_trace',
    ]);
  });

  it('a get_listener_domain error replies 421 4.3.0 technical difficulties and disconnects (checklist 18)', async () => {
    fx = await startSmtp({ policy: POLICY, config: NO_RELAY });
    client = await session(fx);
    await client.command('MAIL FROM:<s@origin.example>');
    const r = await client.command('RCPT TO:<x@broken.example>');
    expect(r.code).toBe(421);
    expect(r.text).toBe('4.3.0 mx.test.example technical difficulties');
    await client.waitClosed();
    expect(fx.log.lines.some((l) => l.message.includes('listener domain lookup failed'))).toBe(true);
    expect(fx.sink.ofType('Rejection')[0]!.response.command).toMatch(/^Error in SmtpServerSession: get_listener_domain: .*listener domain lookup failed/);
  });
});
