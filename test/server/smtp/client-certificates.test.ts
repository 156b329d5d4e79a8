/** tls_required_client_ca: STARTTLS clients need a certificate from that CA; its subject reaches meta and records. */
import { describe, expect, it } from 'vitest';
import { generate } from 'selfsigned';
import { connectSmtp, startSmtp } from './setup.ts';

async function makeCa() {
  const ca = await generate([{ name: 'commonName', value: 'kumo-lua test CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true }],
  } as Parameters<typeof generate>[1]);
  const client = await generate(
    [{ name: 'countryName', value: 'US' }, { name: 'organizationName', value: 'Example' }, { name: 'commonName', value: 'client.example' }],
    { keySize: 2048, algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert }, extensions: [{ name: 'extKeyUsage', clientAuth: true }] } as Parameters<typeof generate>[1],
  );
  return { caCert: ca.cert, clientCert: client.cert, clientKey: client.private };
}

describe('tls_required_client_ca', () => {
  it('a client certificate from the CA is accepted and its subject becomes tls_peer_subject_name; none is refused', async () => {
    const pki = await makeCa();
    const fx = await startSmtp({ config: { tls_required_client_ca: { key_data: pki.caCert } } });
    const c = await connectSmtp(fx.port);
    await c.reply();
    await c.command('EHLO c.example');
    await c.startTls({ cert: pki.clientCert, key: pki.clientKey });
    await c.command('EHLO c.example');
    await c.command('MAIL FROM:<s@origin.example>');
    await c.command('RCPT TO:<r@dest.example>');
    expect((await c.data('Subject: x\r\n\r\nx\r\n')).code).toBe(250);
    expect(fx.intake.inserted[0]!.getMeta('tls_peer_subject_name')).toEqual(['C=US', 'O=Example', 'CN=client.example']);
    expect(fx.sink.ofType('Reception')[0]!.tls_peer_subject_name).toEqual(['C=US', 'O=Example', 'CN=client.example']);

    const anonymous = await connectSmtp(fx.port);
    await anonymous.reply();
    await anonymous.command('EHLO c.example');
    // With TLS 1.3 the client may finish its side of the handshake before the server checks it.
    await anonymous.startTls().catch(() => undefined);
    await anonymous.waitClosed();
    expect(fx.intake.inserted).toHaveLength(1);
  });
});
