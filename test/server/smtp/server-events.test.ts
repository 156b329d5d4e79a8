/** The SMTP server's policy events over real sessions (lua-api-more.md §8.1, §8.2; checklist 62–70). */
import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture | undefined;
let client: RawSmtpClient | undefined;

async function open(policy: string, config = {}): Promise<RawSmtpClient> {
  fx = await startSmtp({ policy: `local kumo = require 'kumo'\nseen = {}\n${policy}`, config });
  const c = await connectSmtp(fx.port);
  expect((await c.reply()).code).toBe(220);
  return c;
}

const seen = () => fx!.lua.eval('return seen');

describe('smtp_server_ehlo (checklist 62)', () => {
  const POLICY = `
kumo.on('smtp_server_ehlo', function(...)
  local domain, conn_meta, extensions = ...
  table.insert(seen, domain .. ' ' .. select('#', ...))
  if domain == 'replace.example' then return { 'X-ONE', 'X-TWO' } end
  if domain == 'bad.example' then kumo.reject(550, '5.7.1 not you') end
end)`;

  it('a returned list replaces the advertised extensions; nil keeps the defaults', async () => {
    client = await open(POLICY);
    const replaced = await client.command('EHLO replace.example');
    expect(replaced.code).toBe(250);
    expect(replaced.lines.slice(1)).toEqual(['X-ONE', 'X-TWO']);
    const kept = await client.command('EHLO keep.example');
    expect(kept.lines.slice(1)).toEqual(['PIPELINING', 'ENHANCEDSTATUSCODES', '8BITMIME', 'SMTPUTF8', 'SIZE 20971520', 'STARTTLS']);
    expect(kept.lines[0]).toMatch(/^mx\.test\.example /);
    expect(await seen()).toEqual(['replace.example 3', 'keep.example 3']);
  });

  it('HELO passes two arguments; success sets ehlo_domain; a reject is the reply', async () => {
    client = await open(POLICY);
    expect((await client.command('HELO helo.example')).code).toBe(250);
    const bad = await client.command('EHLO bad.example');
    expect([bad.code, bad.text]).toEqual([550, '5.7.1 not you']);
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<r@dest.example>');
    await client.data('Subject: x\r\n\r\nx\r\n');
    expect(await seen()).toEqual(['helo.example 2', 'bad.example 3']);
    expect(fx!.intake.inserted[0]!.getMeta('ehlo_domain')).toBe('helo.example');
  });
});

describe('smtp_server_mail_from / smtp_server_rcpt_to', () => {
  it('a reject in smtp_server_mail_from refuses MAIL; the next RCPT gets 503 (checklist 63)', async () => {
    client = await open(`kumo.on('smtp_server_mail_from', function(sender, conn_meta)
      table.insert(seen, sender.domain)
      if sender.domain == 'spam.example' then kumo.reject(550, '5.7.1 go away') end
    end)`);
    await client.command('EHLO client.example');
    const r = await client.command('MAIL FROM:<x@spam.example>');
    expect([r.code, r.text]).toEqual([550, '5.7.1 go away']);
    expect((await client.command('RCPT TO:<r@dest.example>')).code).toBe(503);
    expect((await client.command('MAIL FROM:<x@fine.example>')).code).toBe(250);
    expect(await seen()).toEqual(['spam.example', 'fine.example']);
  });

  it('smtp_server_rcpt_to is not fired for a relay-refused recipient; its reject refuses only that RCPT (checklist 66)', async () => {
    client = await open(
      `kumo.on('get_listener_domain', function(domain)
        if domain == 'ok.example' then return kumo.make_listener_domain { relay_to = true } end
      end)
      kumo.on('smtp_server_rcpt_to', function(rcpt, conn_meta)
        table.insert(seen, rcpt.email)
        if rcpt.user == 'nobody' then kumo.reject(550, '5.1.1 unknown user') end
      end)`,
      { relay_hosts: ['10.0.0.0/8'] },
    );
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<r@refused.example>')).code).toBe(550);
    expect((await client.command('RCPT TO:<nobody@ok.example>')).text).toBe('5.1.1 unknown user');
    expect((await client.command('RCPT TO:<r@ok.example>')).code).toBe(250);
    expect(await seen()).toEqual(['nobody@ok.example', 'r@ok.example']);
  });
});

describe('smtp_server_data and smtp_server_split_transaction', () => {
  it('smtp_server_data sees all recipients and no Received header; edits carry into every message (checklist 67)', async () => {
    client = await open(`kumo.on('smtp_server_data', function(msg, conn_meta)
      for _, r in ipairs(msg:recipient_list()) do table.insert(seen, r.email) end
      table.insert(seen, tostring(msg:get_first_named_header_value('Received')))
      msg:set_meta('from_data', conn_meta:get_meta('ehlo_domain'))
    end)`);
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@one.example>');
    await client.command('RCPT TO:<b@two.example>');
    expect((await client.data('Subject: x\r\n\r\nx\r\n')).code).toBe(250);
    expect(await seen()).toEqual(['a@one.example', 'b@two.example', 'nil']);
    expect(fx!.intake.inserted.map((m) => [m.recipients, m.getMeta('from_data')])).toEqual([
      [['a@one.example'], 'client.example'],
      [['b@two.example'], 'client.example'],
    ]);
    expect(Buffer.from(fx!.intake.inserted[0]!.getData()).toString()).toContain('Received: from client.example');
  });

  it('smtp_server_split_transaction returning {{a,b},{c}} makes two messages; {} refuses relaying (checklist 68)', async () => {
    client = await open(`kumo.on('smtp_server_split_transaction', function(msg, conn_meta)
      local r = msg:recipient_list()
      if #r == 1 then return {} end
      return { { r[1], r[2].email }, { r[3] } }
    end)`);
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<s@origin.example>');
    for (const r of ['a@x.example', 'b@y.example', 'c@z.example']) await client.command(`RCPT TO:<${r}>`);
    const done = await client.data('Subject: x\r\n\r\nx\r\n');
    expect(done.code).toBe(250);
    expect(fx!.intake.inserted.map((m) => m.recipients)).toEqual([['a@x.example', 'b@y.example'], ['c@z.example']]);
    expect(done.text).toBe(`OK ids=${fx!.intake.inserted.map((m) => m.id).join(' ')}`);
    expect(fx!.sink.ofType('Reception')[0]!.recipient).toEqual(['a@x.example', 'b@y.example']);

    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<a@x.example>');
    const none = await client.data('Subject: x\r\n\r\nx\r\n');
    expect([none.code, none.text]).toEqual([550, '5.7.1 relaying not permitted']);
  });

  it("batch_handling = 'BatchByDomain' makes one message per recipient domain", async () => {
    client = await open('', { batch_handling: 'BatchByDomain' });
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<s@origin.example>');
    for (const r of ['a@x.example', 'b@y.example', 'c@X.example']) await client.command(`RCPT TO:<${r}>`);
    expect((await client.data('Subject: x\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx!.intake.inserted.map((m) => m.recipients)).toEqual([['a@x.example', 'c@X.example'], ['b@y.example']]);
  });
});

describe('smtp_server_rewrite_response (checklist 69)', () => {
  it('can change a 250 text; an error in it leaves the reply unchanged; the Rejection shows the rewritten reply', async () => {
    client = await open(`kumo.on('smtp_server_rewrite_response', function(code, text, command, conn_meta)
      table.insert(seen, code .. ' ' .. tostring(command))
      if text == 'Flushed' then error('rewrite bug') end
      if code == 250 and text:find('^OK ids=') then return 250, 'queued as ' .. text:sub(8) end
      if code == 550 then return 554, '5.7.1 rewritten\\nsecond line' end
    end)`, { relay_hosts: ['10.0.0.0/8'] });
    await client.command('EHLO client.example');
    expect((await client.command('RSET')).text).toBe('Flushed');
    await client.command('MAIL FROM:<s@origin.example>');
    const refused = await client.command('RCPT TO:<r@dest.example>');
    expect([refused.code, refused.lines]).toEqual([554, ['5.7.1 rewritten', 'second line']]);
    expect(fx!.sink.ofType('Rejection')[0]!.response).toMatchObject({ code: 554, content: 'rewritten second line', command: 'RCPT TO:<r@dest.example>' });
    expect(fx!.log.lines.some((l) => l.message.includes('rewrite bug'))).toBe(true);
    expect((await seen() as string[]).slice(0, 2)).toEqual(['220 nil', '250 nil']);
  });

  it('rewrites the final DATA reply (command "DATA") and keeps pipelined replies in order', async () => {
    client = await open(`kumo.on('smtp_server_rewrite_response', function(code, text, command)
      if command == 'DATA' then return 250, 'queued as ' .. text:sub(8) end
    end)`);
    await client.command('EHLO client.example');
    client.write('MAIL FROM:<s@origin.example>\r\nRCPT TO:<a@dest.example>\r\nNOOP\r\n');
    expect((await client.reply()).code).toBe(250);
    expect((await client.reply()).code).toBe(250);
    expect((await client.reply()).text).toMatch(/OK/);
    const done = await client.data('Subject: x\r\n\r\nx\r\n');
    expect(done.text).toBe(`queued as ${fx!.intake.inserted[0]!.id}`);
  });
});

describe('smtp_server_connection_accepted and smtp_server_get_dynamic_parameters', () => {
  it('a 421 reject in smtp_server_connection_accepted is the only reply, then the connection closes (checklist 70)', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'
      kumo.on('smtp_server_connection_accepted', function(conn_meta) kumo.reject(421, '4.7.0 ' .. conn_meta:get_meta('received_from') .. ' not welcome') end)` });
    client = await connectSmtp(fx.port);
    const r = await client.reply();
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/^4\.7\.0 127\.0\.0\.1:\d+ not welcome$/);
    await client.waitClosed();
  });

  it('dynamic parameters override the session hostname before the banner; a non-table return is a 421', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'
      kumo.on('smtp_server_get_dynamic_parameters', function(listener, conn_meta)
        if conn_meta:get_meta('received_via') ~= listener then error('listener mismatch') end
        return { hostname = 'dyn.example', banner = 'Hi' }
      end)` });
    client = await connectSmtp(fx.port);
    expect((await client.reply()).text).toBe('dyn.example Hi');
    await client.command('EHLO c.example');
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<r@dest.example>');
    await client.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.getMeta('hostname')).toBe('dyn.example');
    expect(Buffer.from(fx.intake.inserted[0]!.getData()).toString()).toContain('by dyn.example (KumoMTA)');
  });

  it('an unknown key from smtp_server_get_dynamic_parameters refuses the session with 421 technical difficulties', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'
      kumo.on('smtp_server_get_dynamic_parameters', function() return { hostnme = 'typo' } end)` });
    client = await connectSmtp(fx.port);
    const r = await client.reply();
    expect([r.code, r.text]).toEqual([421, '4.3.0 mx.test.example technical difficulties']);
    expect(fx.log.lines.some((l) => l.message.includes("unknown option 'hostnme'"))).toBe(true);
  });
});

describe('smtp_server_auth_plain (checklist 64, 65)', () => {
  const POLICY = `
kumo.on('smtp_server_auth_plain', function(authz, authc, password, conn_meta)
  table.insert(seen, authz .. '/' .. authc)
  return password == 'right'
end)`;

  it('AUTH before STARTTLS is refused with 524 5.7.11 and the event does not fire', async () => {
    client = await open(POLICY);
    await client.command('EHLO client.example');
    const r = await client.command(`AUTH PLAIN ${Buffer.from('\0u\0right').toString('base64')}`);
    expect(r.code).toBe(524);
    expect(r.text).toMatch(/^5\.7\.11 /);
    expect(await fx!.lua.eval('return #seen')).toBe(0);
  });

  async function send(user: string, pass: string) {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: fx!.port, secure: false, requireTLS: true, name: 'auth-client.example',
      tls: { rejectUnauthorized: false }, auth: { user, pass, method: 'PLAIN' },
    });
    try {
      return await transport.sendMail({ envelope: { from: 'a@origin.example', to: ['r@dest.example'] }, raw: 'Subject: x\r\n\r\nx\r\n' });
    } finally {
      transport.close();
    }
  }

  it('true ⇒ 235 and authz_id/authn_id in conn meta (empty authz = authc); false ⇒ 535 5.7.8', async () => {
    fx = await startSmtp({ policy: `local kumo = require 'kumo'\nseen = {}\n${POLICY}` });
    const info = await send('alice', 'right');
    expect(info.response).toMatch(/^250 OK ids=/);
    expect(fx.intake.inserted[0]!.metaObject()).toMatchObject({ authz_id: 'alice', authn_id: 'alice' });
    const err = (await send('bob', 'wrong').catch((e: unknown) => e)) as { responseCode: number; response: string };
    expect(err.responseCode).toBe(535);
    expect(err.response).toMatch(/^535 5\.7\.8 /);
    expect(await seen()).toEqual(['alice/alice', 'bob/bob']);
  });

  it('the reply itself: 235 2.7.0 when the handler says true, 535 5.7.8 when false (checklist 65)', async () => {
    client = await open(POLICY);
    await client.command('EHLO client.example');
    await client.startTls();
    await client.command('EHLO client.example');
    const ok = await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0right').toString('base64')}`);
    expect([ok.code, ok.text]).toEqual([235, '2.7.0 Authentication successful']);
    client.close();
    client = await connectSmtp(fx!.port);
    await client.reply();
    await client.command('EHLO client.example');
    await client.startTls();
    await client.command('EHLO client.example');
    const bad = await client.command(`AUTH PLAIN ${Buffer.from('\0bob\0wrong').toString('base64')}`);
    expect(bad.code).toBe(535);
    expect(bad.text).toMatch(/^5\.7\.8 /);
    expect(await seen()).toEqual(['alice/alice', 'bob/bob']);
  });

  it('EHLO after STARTTLS advertises AUTH PLAIN instead of STARTTLS', async () => {
    client = await open(POLICY);
    const plain = await client.command('EHLO client.example');
    expect(plain.lines).toContain('STARTTLS');
    expect(plain.lines).not.toContain('AUTH PLAIN');
  });
});
