/** allow_xclient: XCLIENT ADDR/PORT/DESTADDR/DESTPORT re-address the session and re-evaluate its options. */
import { describe, expect, it } from 'vitest';
import { connectSmtp, startSmtp } from './setup.ts';

describe('XCLIENT', () => {
  it('is refused unless allow_xclient is on for the session', async () => {
    const fx = await startSmtp();
    const c = await connectSmtp(fx.port);
    await c.reply();
    const ehlo = await c.command('EHLO c.example');
    expect(ehlo.lines.some((l) => l.startsWith('XCLIENT'))).toBe(false);
    expect((await c.command('XCLIENT ADDR=192.0.2.1')).code).toBe(550);
  });

  it('changes received_from/received_via, re-runs peer blocks and dynamic parameters, and greets again', async () => {
    const fx = await startSmtp({
      config: {
        relay_hosts: ['10.0.0.0/8'],
        peer: { '127.0.0.1': { allow_xclient: true }, '10.1.0.0/16': { hostname: 'inside.example' } },
      },
      policy: `local kumo = require 'kumo'
        listeners = {}
        kumo.on('smtp_server_get_dynamic_parameters', function(listener, conn_meta)
          table.insert(listeners, listener)
          return {}
        end)`,
    });
    const c = await connectSmtp(fx.port);
    await c.reply();
    expect((await c.command('EHLO c.example')).lines).toContain('XCLIENT ADDR PORT DESTADDR DESTPORT');
    expect((await c.command('XCLIENT ADDR=bogus')).code).toBe(501);
    const greet = await c.command('XCLIENT NAME=client.example ADDR=10.1.2.3 PORT=4444 DESTADDR=192.0.2.25 DESTPORT=25');
    expect([greet.code, greet.text]).toEqual([220, 'inside.example KumoMTA']);
    expect((await c.command('MAIL FROM:<s@origin.example>')).code).toBe(503); // EHLO again first
    await c.command('EHLO c.example');
    await c.command('MAIL FROM:<s@origin.example>');
    expect((await c.command('RCPT TO:<r@dest.example>')).code).toBe(250); // 10.1.2.3 is a relay host
    await c.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.metaObject()).toMatchObject({
      received_from: '10.1.2.3:4444',
      received_via: '192.0.2.25:25',
      orig_received_via: `127.0.0.1:${fx.port}`,
      orig_received_from: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      hostname: 'inside.example',
    });
    expect(fx.sink.ofType('Reception')[0]!.peer_address).toEqual({ name: 'c.example', addr: '10.1.2.3' });
    expect(await fx.lua.eval('return listeners')).toEqual([`127.0.0.1:${fx.port}`, '192.0.2.25:25']);
  });
});
