/** invalid_line_endings, line_length_hard_limit and data_processing_timeout over SMTP (engine.md §9.1). */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/util/json.ts';
import { VirtualClock } from '../../../src/util/clock.ts';
import { waitUntil } from '../../helpers/daemon.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture;

/** Sends `body` verbatim (no line-ending conversion) as the DATA of one transaction. */
async function sendRaw(config: JsonObject, body: string) {
  fx = await startSmtp({ config: { trace_headers: { received_header: false, supplemental_header: false }, ...config } });
  const c = await connectSmtp(fx.port);
  await c.reply();
  await c.command('EHLO client.example');
  await c.command('MAIL FROM:<s@origin.example>');
  await c.command('RCPT TO:<r@dest.example>');
  expect((await c.command('DATA')).code).toBe(354);
  c.write(body + '.\r\n');
  return c.reply();
}

const stored = () => Buffer.from(fx.intake.inserted[0]!.getData()).toString('latin1');

describe('invalid_line_endings', () => {
  it("'Deny' (the default) refuses bare LF or CR with 552 5.6.0", async () => {
    const r = await sendRaw({}, 'Subject: x\nbody\r\n');
    expect([r.code, r.text]).toEqual([552, '5.6.0 message data must use CRLF for line endings']);
    expect(fx.intake.saved).toHaveLength(0);
    const cr = await sendRaw({}, 'Subject: x\r\nbo\rdy\r\n');
    expect(cr.code).toBe(552);
  });

  it("'Allow' keeps the data as sent; 'Fix' turns bare CR/LF into CRLF", async () => {
    expect((await sendRaw({ invalid_line_endings: 'Allow' }, 'Subject: x\nbody\r\n')).code).toBe(250);
    expect(stored()).toBe('Subject: x\nbody\r\n');
    expect((await sendRaw({ invalid_line_endings: 'Fix' }, 'Subject: x\nbo\rdy\r\n')).code).toBe(250);
    expect(stored()).toBe('Subject: x\r\nbo\r\ndy\r\n');
  });

  it('other values are an error naming the option', async () => {
    await expect(startSmtp({ config: { invalid_line_endings: 'Maybe' } })).rejects.toThrow(/'invalid_line_endings' must be 'Deny', 'Allow' or 'Fix'/);
  });
});

describe('line_length_hard_limit', () => {
  it('a line over 998 bytes is refused with 500 5.2.3; a higher limit accepts it', async () => {
    const long = 'Subject: x\r\n\r\n' + 'a'.repeat(999) + '\r\n';
    const r = await sendRaw({}, long);
    expect([r.code, r.text]).toEqual([500, '5.2.3 line too long']);
    expect(fx.sink.ofType('Rejection')[0]!.response.command).toBe('DATA');
    expect((await sendRaw({}, 'Subject: x\r\n\r\n' + 'a'.repeat(998) + '\r\n')).code).toBe(250);
    expect((await sendRaw({ line_length_hard_limit: 2000 }, long)).code).toBe(250);
  });
});

describe('data_processing_timeout', () => {
  it('a policy event that outlasts it is answered 451 4.4.5 ... exceeded (rx) and nothing is spooled', async () => {
    const clock = new VirtualClock();
    fx = await startSmtp({
      clock,
      config: { data_processing_timeout: '10s' },
      policy: `local kumo = require 'kumo'
        kumo.on('smtp_server_message_received', function(msg) kumo.sleep(60) end)`,
    });
    const c = await connectSmtp(fx.port);
    await c.reply();
    await c.command('EHLO client.example');
    await c.command('MAIL FROM:<s@origin.example>');
    await c.command('RCPT TO:<r@dest.example>');
    const reply = c.data('Subject: slow\r\n\r\nx\r\n');
    await waitUntil(() => clock.pendingTimers() >= 2, 'the timeout and the policy sleep');
    await clock.advance(10_000);
    const r = await reply;
    expect([r.code, r.text]).toEqual([451, '4.4.5 data_processing_timeout exceeded (rx)']);
    await clock.advance(60_000);
    expect(fx.intake.saved).toHaveLength(0);
    expect(fx.sink.ofType('Reception')).toHaveLength(0);
    expect((await c.command('NOOP')).code).toBe(250);
  });
});
