/** start_esmtp_listener options: `via` / `peer` per-session overrides and batch_handling, parsed and used over SMTP. */
import { describe, expect, it } from 'vitest';
import type { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { parseEsmtpListenerConfig, sessionConfig } from '../../../src/server/smtp/config.ts';
import { connectSmtp, startSmtp, type SmtpFixture } from './setup.ts';

let fx: SmtpFixture | undefined;
let client: RawSmtpClient | undefined;

describe('via and peer overrides', () => {
  it('via matches the local address, peer the client address; peer is applied last', async () => {
    fx = await startSmtp({
      config: {
        relay_hosts: ['10.0.0.0/8'],
        via: { '127.0.0.0/8': { banner: 'ViaBanner', hostname: 'via.example' } },
        peer: { '127.0.0.1': { hostname: 'peer.example', relay_hosts: ['127.0.0.1'] }, '192.0.2.0/24': { hostname: 'other.example' } },
      },
    });
    client = await connectSmtp(fx.port);
    expect((await client.reply()).text).toBe('peer.example ViaBanner');
    await client.command('EHLO c.example');
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<r@dest.example>')).code).toBe(250);
    await client.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.getMeta('hostname')).toBe('peer.example');
  });

  it('a non-matching entry changes nothing', () => {
    const config = parseEsmtpListenerConfig({ hostname: 'base.example', peer: { '192.0.2.0/24': { hostname: 'other.example', max_message_size: 10 } } });
    expect(sessionConfig(config, '127.0.0.1', '198.51.100.1').hostname).toBe('base.example');
    const matched = sessionConfig(config, '127.0.0.1', '192.0.2.9');
    expect([matched.hostname, matched.maxMessageSize]).toEqual(['other.example', 10]);
  });

  it('entries are validated when the listener starts: unknown keys, listener-wide options and bad CIDRs are errors', () => {
    expect(() => parseEsmtpListenerConfig({ peer: { '10.0.0.0/8': { hostnme: 'x' } } })).toThrow(/peer\['10\.0\.0\.0\/8'\]: unknown option 'hostnme'/);
    expect(() => parseEsmtpListenerConfig({ via: { '10.0.0.0/8': { listen: '0.0.0.0:25' } } })).toThrow(/option 'listen' is listener-wide in kumo-lua/);
    expect(() => parseEsmtpListenerConfig({ peer: { '10.0.0.0/8': { tls_certificate: '/x.pem' } } })).toThrow(/option 'tls_certificate' is listener-wide/);
    expect(() => parseEsmtpListenerConfig({ via: { 'not-an-ip': {} } })).toThrow(/option 'via' has an invalid key: 'not-an-ip'/);
    expect(() => parseEsmtpListenerConfig({ peer: { '10.0.0.0/8': 'x' } })).toThrow(/entry '10\.0\.0\.0\/8' must be a table/);
  });
});

describe('meta', () => {
  it('is set in the connection meta; via/peer blocks merge their keys over it', async () => {
    fx = await startSmtp({
      config: {
        meta: { trusted: false, zone: 'edge' },
        peer: { '127.0.0.0/8': { meta: { trusted: true } } },
      },
      policy: `local kumo = require 'kumo'
        kumo.on('smtp_server_connection_accepted', function(conn_meta)
          seen = { conn_meta:get_meta('trusted'), conn_meta:get_meta('zone') }
        end)`,
    });
    client = await connectSmtp(fx.port);
    await client.reply();
    expect(await fx.lua.eval('return seen')).toEqual([true, 'edge']);
    await client.command('EHLO c.example');
    await client.command('MAIL FROM:<s@origin.example>');
    await client.command('RCPT TO:<r@dest.example>');
    await client.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.metaObject()).toMatchObject({ trusted: true, zone: 'edge' });
    expect(() => parseEsmtpListenerConfig({ meta: 'x' })).toThrow(/option 'meta' must be a table/);
  });
});

describe('batch_handling', () => {
  it("accepts 'BifurcateAlways' and 'BatchByDomain' only", () => {
    expect(parseEsmtpListenerConfig({ batch_handling: 'BatchByDomain' }).batchByDomain).toBe(true);
    expect(parseEsmtpListenerConfig({ batch_handling: 'BifurcateAlways' }).batchByDomain).toBe(false);
    expect(() => parseEsmtpListenerConfig({ batch_handling: 'Sometimes' })).toThrow(/'batch_handling' must be 'BifurcateAlways' or 'BatchByDomain'/);
    expect(parseEsmtpListenerConfig({ data_buffer_size: 65536 }).hostname).toBeTruthy();
    expect(() => parseEsmtpListenerConfig({ data_buffer_size: 'big' })).toThrow(/'data_buffer_size' must be a non-negative integer/);
  });
});

describe('require_proxy_protocol', () => {
  it('the client address comes from the PROXY header: relay checks, meta and records use it', async () => {
    fx = await startSmtp({ config: { require_proxy_protocol: true, relay_hosts: ['192.0.2.0/24'] } });
    client = await connectSmtp(fx.port);
    client.write('PROXY TCP4 192.0.2.9 127.0.0.1 40000 25\r\n');
    expect((await client.reply()).code).toBe(220);
    await client.command('EHLO c.example');
    await client.command('MAIL FROM:<s@origin.example>');
    expect((await client.command('RCPT TO:<r@dest.example>')).code).toBe(250);
    await client.data('Subject: x\r\n\r\nx\r\n');
    expect(fx.intake.inserted[0]!.getMeta('received_from')).toBe('192.0.2.9:40000');
    expect(fx.sink.ofType('Reception')[0]!.peer_address).toEqual({ name: 'c.example', addr: '192.0.2.9' });
  });

  it('a connection without the header gets no banner', async () => {
    fx = await startSmtp({ config: { require_proxy_protocol: true } });
    client = await connectSmtp(fx.port);
    client.write('EHLO c.example\r\n');
    await client.waitClosed();
  });
});
