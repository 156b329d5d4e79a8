/**
 * Message authentication in a running daemon: mail arrives over SMTP, the
 * policy checks SPF, records Authentication-Results and DKIM-signs it in
 * smtp_server_message_received; the message written to the Maildir verifies
 * with mailauth's own DKIM verifier.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { luaPath, maildirMessages, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { resetAuthResolverProvider, setAuthResolverProvider } from '../../src/auth/dns-port.ts';
import { memoryResolver, rsaKey, type Zone } from '../auth/fixtures.ts';

const key = rsaKey();
const ZONE: Zone = {
  'example.com': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  's2026._domainkey.example.com': { TXT: [key.publicRecord] },
};

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  resetAuthResolverProvider();
});

const policy = (dir: string) => `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.1' } }
end)
kumo.on('smtp_server_message_received', function(msg)
  local spf = kumo.spf.check_msg(msg)
  msg:add_authentication_results('mx.example.net', { spf.result })
  local from = msg:from_header()
  msg:dkim_sign(kumo.dkim.rsa_sha256_signer {
    domain = from.domain, selector = 's2026', over_sign = true,
    headers = { 'From', 'To', 'Subject', 'Date', 'Message-ID' },
    key = ${luaPath(dir + '/dkim.key')},
  })
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
`;

describe('SMTP → SPF + DKIM signing in policy → Maildir', () => {
  it('the delivered message carries a passing SPF result and a DKIM signature mailauth verifies', async () => {
    setAuthResolverProvider(() => memoryResolver(ZONE));
    daemon = await startDaemon({
      policy: (dir) => {
        fs.writeFileSync(path.join(dir, 'dkim.key'), key.privatePem);
        return policy(dir);
      },
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: daemon.smtpPort!, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'Alice <alice@example.com>', to: 'bob@example.net', subject: 'signed', text: 'hello, signed world' });
    transport.close();
    await daemon.waitFor(() => daemon!.recordsOf('Delivery').length === 1, 'delivery');

    const [file] = maildirMessages(daemon.stateDir);
    const top = file!.text.split('\r\n').filter((l) => /^[A-Za-z-]+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    expect(top.indexOf('DKIM-Signature')).toBeLessThan(top.indexOf('Authentication-Results'));
    expect(file!.text).toContain('Authentication-Results: mx.example.net;\r\n\tspf=pass reason=');
    const verified = await dkimVerify(Buffer.from(file!.text), { resolver: memoryResolver(ZONE) as never });
    expect(verified.results.map((r) => r.status.result)).toEqual(['pass']);
  });
});
