/** kumo.start_http_listener / kumo.start_esmtp_listener called from Lua, wired through the service slots. */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { newLua, type TestContext } from '../helpers/lua.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { LISTENER_RECORDS, LISTENERS, MESSAGE_INTAKE } from '../../src/server/ports.ts';
import { RecordingIntake, RecordingSink } from './recorders.ts';

let lua: TestContext | undefined;
afterEach(async () => {
  await lua?.ctx.optional(LISTENERS)?.closeAll();
  lua = undefined;
});

function wired(): { lua: TestContext; intake: RecordingIntake; sink: RecordingSink } {
  const t = newLua();
  const intake = new RecordingIntake();
  const sink = new RecordingSink();
  t.ctx.provide(MESSAGE_INTAKE, intake);
  t.ctx.provide(LISTENER_RECORDS, sink);
  lua = t;
  return { lua: t, intake, sink };
}

describe('kumo.start_http_listener / kumo.start_esmtp_listener', () => {
  it('start both listeners from Lua; their bound addresses are in the listener set; both deliver to the intake', async () => {
    const { lua: t, intake } = wired();
    await t.eval(`
      kumo.start_http_listener { listen = '127.0.0.1:0', hostname = 'h.example' }
      kumo.start_esmtp_listener { listen = '127.0.0.1:0', hostname = 'h.example', relay_hosts = { '127.0.0.1' } }
    `);
    const [http, smtp] = t.ctx.require(LISTENERS, 'test').all;
    expect(http!.kind).toBe('http');
    expect(http!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.log.lines.some((l) => l.message === `http listener on ${http!.address} (http)`)).toBe(true);

    const res = await fetch(`http://${http!.address}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ envelope_sender: 's@x.example', recipients: [{ email: 'r@y.example' }], content: 'Subject: x\r\n\r\nb\r\n' }),
    });
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);

    const c = await RawSmtpClient.connect(Number(smtp!.address.split(':')[1]));
    expect((await c.reply()).text).toBe('h.example KumoMTA'); // engine.md §9.1: 220 <hostname> <banner>
    await c.command('EHLO me');
    await c.command('MAIL FROM:<a@b.example>');
    await c.command('RCPT TO:<c@d.example>');
    expect((await c.data('Subject: y\r\n\r\nz\r\n')).code).toBe(250);
    c.close();
    expect(intake.inserted.map((m) => m.getMeta('reception_protocol'))).toEqual(['HTTP', 'ESMTP']);
  });

  it('unknown or badly typed options are errors naming the option', async () => {
    const { lua: t } = wired();
    await expect(t.eval(`kumo.start_http_listener { listen = '127.0.0.1:0', trusted_host = {} }`)).rejects.toThrow(
      "kumo.start_http_listener: unknown option 'trusted_host'",
    );
    await expect(t.eval(`kumo.start_http_listener { listen = 'nowhere' }`)).rejects.toThrow(/option 'listen' invalid listen address 'nowhere'/);
    await expect(t.eval(`kumo.start_http_listener { trusted_hosts = { '10.0.0.300/8' } }`)).rejects.toThrow(/option 'trusted_hosts' has an invalid entry/);
    await expect(t.eval(`kumo.start_esmtp_listener { listen = '127.0.0.1:0', max_message_size = 'big' }`)).rejects.toThrow(
      "kumo.start_esmtp_listener: option 'max_message_size' must be a non-negative integer",
    );
    await expect(t.eval(`kumo.start_esmtp_listener { listen = '127.0.0.1:0', deferred_queue = true }`)).rejects.toThrow(/'deferred_queue' is not supported by kumo-lua/);
    expect(t.ctx.optional(LISTENERS)?.all ?? []).toHaveLength(0);
  });

  it('while validating, options are checked but nothing binds', async () => {
    const t = newLua({ mode: { validating: true } });
    await t.eval(`kumo.start_http_listener { listen = '127.0.0.1:0' }`);
    expect(t.ctx.optional(LISTENERS)).toBeUndefined();
    await expect(t.eval(`kumo.start_http_listener { bogus = 1 }`)).rejects.toThrow(/unknown option 'bogus'/);
  });

  it('the ESMTP listener needs the message intake', async () => {
    const t = newLua();
    await expect(t.eval(`kumo.start_esmtp_listener { listen = '127.0.0.1:0' }`)).rejects.toThrow(/kumo.start_esmtp_listener: message intake .* is not available/);
  });
});
