/** ESMTP SIZE (RFC 1870): advertised, checked at MAIL FROM, and enforced while DATA arrives (issue 14). */
import { describe, expect, it } from 'vitest';
import type { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture | undefined;
let client: RawSmtpClient | undefined;

async function session(): Promise<RawSmtpClient> {
  fx = await startSmtp({ config: { max_message_size: 1000 } });
  const c = await connectSmtp(fx.port);
  await c.reply();
  return c;
}

describe('max_message_size over SMTP', () => {
  it('advertises SIZE with the limit', async () => {
    client = await session();
    const ehlo = await client.command('EHLO client.example');
    expect(ehlo.lines).toContain('SIZE 1000');
  });

  it('refuses MAIL FROM with a declared SIZE over the limit and accepts one within it', async () => {
    client = await session();
    await client.command('EHLO client.example');
    const big = await client.command('MAIL FROM:<a@origin.example> SIZE=999999999999');
    expect(big.code).toBe(552);
    expect(big.text).toBe('5.3.4 message too big');
    expect(fx!.sink.ofType('Rejection')[0]!.response.command).toBe('MAIL FROM:<a@origin.example> SIZE=999999999999');
    expect((await client.command('MAIL FROM:<a@origin.example> SIZE=900')).code).toBe(250);
  });

  it('answers 552 as soon as DATA passes the limit, without waiting for the end of the message, and closes', async () => {
    client = await session();
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<a@origin.example>');
    await client.command('RCPT TO:<b@dest.example>');
    expect((await client.command('DATA')).code).toBe(354);
    // Far more than the limit (1.6 MB), and no terminating dot: only an early answer can arrive.
    client.write('Subject: big\r\n\r\n' + 'y'.repeat(78).concat('\r\n').repeat(20_000));
    const r = await client.reply(3000);
    expect(r.code).toBe(552);
    expect(r.text).toBe('5.3.4 message too big');
    await client.waitClosed();
    expect(fx!.intake.saved).toHaveLength(0);
    expect(fx!.sink.ofType('Rejection').map((x) => x.response.command)).toEqual(['DATA']);
  });
});
