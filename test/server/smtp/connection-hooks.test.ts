/** AUTH PLAIN rules over a raw STARTTLS session and the reply hooks (lua-api-more.md §8.2, engine.md §9.1). */
import { describe, expect, it } from 'vitest';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture;

const POLICY = `
local kumo = require 'kumo'
kumo.on('smtp_server_auth_plain', function(authz, authc, password, conn_meta)
  if authc == 'silent' then return end
  if authc == 'info' then
    return { identities = {
      { identity = 'the-authz', context = 'SmtpAuthPlainAuthorization' },
      { identity = 'the-authn', context = 'SmtpAuthPlainAuthentication' },
    } }
  end
  return password == 'right'
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  msg:set_meta('identities', #conn_meta:auth_info().identities)
end)`;

const plain = (authz: string, authc: string, pass: string) => Buffer.from(`${authz}\0${authc}\0${pass}`).toString('base64');

async function secureSession() {
  fx = await startSmtp({ policy: POLICY });
  const c = await connectSmtp(fx.port);
  await c.reply();
  await c.command('EHLO client.example');
  await c.startTls();
  const ehlo = await c.command('EHLO client.example');
  return { c, ehlo };
}

describe('allow_plaintext_auth', () => {
  it('offers and accepts AUTH PLAIN before STARTTLS when set', async () => {
    fx = await startSmtp({ policy: POLICY, config: { allow_plaintext_auth: true } });
    const c = await connectSmtp(fx.port);
    await c.reply();
    const ehlo = await c.command('EHLO client.example');
    expect(ehlo.lines).toContain('STARTTLS');
    expect(ehlo.lines).toContain('AUTH PLAIN');
    const ok = await c.command(`AUTH PLAIN ${plain('', 'alice', 'right')}`);
    expect([ok.code, ok.text]).toEqual([235, '2.7.0 Authentication successful']);
  });

  it('allow_plaintext_auth = false keeps AUTH behind STARTTLS', async () => {
    fx = await startSmtp({ policy: POLICY, config: { allow_plaintext_auth: false } });
    const d = await connectSmtp(fx.port);
    await d.reply();
    expect((await d.command('EHLO client.example')).lines).not.toContain('AUTH PLAIN');
    expect((await d.command(`AUTH PLAIN ${plain('', 'alice', 'right')}`)).code).toBe(524);
  });
});

describe('AUTH PLAIN after STARTTLS', () => {
  it('advertises AUTH PLAIN; other mechanisms get 504; a continuation line works; a second AUTH gets 503', async () => {
    const { c, ehlo } = await secureSession();
    expect(ehlo.lines).toContain('AUTH PLAIN');
    expect(ehlo.lines).not.toContain('STARTTLS');
    expect((await c.command('AUTH LOGIN')).code).toBe(504);
    expect((await c.command('AUTH PLAIN')).code).toBe(334);
    const ok = await c.command(plain('', 'alice', 'right'));
    expect([ok.code, ok.text]).toEqual([235, '2.7.0 Authentication successful']);
    expect((await c.command(`AUTH PLAIN ${plain('', 'alice', 'right')}`)).code).toBe(503);
    // The Rejection names the command without the credentials.
    expect(fx.sink.ofType('Rejection').map((r) => r.response.command)).toEqual(['AUTH LOGIN', 'AUTH PLAIN']);
    await c.command('MAIL FROM:<s@origin.example>');
    await c.command('RCPT TO:<r@dest.example>');
    await c.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.metaObject()).toMatchObject({ authz_id: 'alice', authn_id: 'alice', identities: 1 });
  });

  it('is refused inside a transaction', async () => {
    const { c } = await secureSession();
    await c.command('MAIL FROM:<s@origin.example>');
    expect((await c.command(`AUTH PLAIN ${plain('', 'alice', 'right')}`)).code).toBe(503);
  });

  it('an AuthInfo table sets authz/authn from the SmtpAuthPlain contexts', async () => {
    const { c } = await secureSession();
    expect((await c.command(`AUTH PLAIN ${plain('', 'info', 'x')}`)).code).toBe(235);
    await c.command('MAIL FROM:<s@origin.example>');
    await c.command('RCPT TO:<r@dest.example>');
    await c.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.metaObject()).toMatchObject({ authz_id: 'the-authz', authn_id: 'the-authn', identities: 2 });
  });

  it('a handler that returns nothing is a 421 technical difficulties and the session ends', async () => {
    const { c } = await secureSession();
    const r = await c.command(`AUTH PLAIN ${plain('', 'silent', 'x')}`);
    expect([r.code, r.text]).toEqual([421, '4.3.0 mx.test.example technical difficulties']);
    await c.waitClosed();
  });

  it('a malformed PLAIN response is 501', async () => {
    const { c } = await secureSession();
    expect((await c.command(`AUTH PLAIN ${Buffer.from('only-one-field').toString('base64')}`)).code).toBe(501);
  });
});

describe('rewritten replies', () => {
  it('a reply rewritten to 421 closes the connection', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'
      kumo.on('smtp_server_rewrite_response', function(code, text)
        if text == 'OK' then return 421, '4.7.0 closing instead' end
      end)` });
    const c = await connectSmtp(fx.port);
    await c.reply();
    await c.command('EHLO client.example');
    const r = await c.command('NOOP');
    expect([r.code, r.text]).toEqual([421, '4.7.0 closing instead']);
    await c.waitClosed();
  });
});

describe('client_timeout', () => {
  it("an idle client gets KumoMTA's 421 4.3.2 <hostname> idle too long (no Rejection record)", async () => {
    fx = await startSmtp({ config: { client_timeout: '1s' } });
    const c = await connectSmtp(fx.port);
    await c.reply();
    const r = await c.reply(5000);
    expect([r.code, r.text]).toEqual([421, '4.3.2 mx.test.example idle too long']);
    await c.waitClosed();
    expect(fx.sink.ofType('Rejection')).toHaveLength(0);
  });
});
