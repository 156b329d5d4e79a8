/** TLS modes and AUTH PLAIN against real smtp-server MXes with a self-signed certificate. */
import { describe, expect, it } from 'vitest';
import { selfSignedFor } from '../../../src/server/tls.ts';
import type { MockMx } from '../../../src/testing/mock-mx.ts';
import { advance, type TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();
let engine: TestEngine;

const peer = (m: MockMx) => `ResolvedAddress { name: "${m.address}", addr: 127.0.0.1, is_secure: false }:${m.port}`;

describe('enable_tls', () => {
  it('Required without STARTTLS advertised fails the candidate (checklist 26)', async () => {
    const m = await f.mx({ starttls: false });
    engine = await f.engine(m, { path: { enable_tls: 'Required' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 400, peer: null });
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: tls policy is Required but STARTTLS is not advertised by ${peer(m)}`);
    expect(m.transactions).toHaveLength(0);
  });

  it('Opportunistic against a self-signed certificate fails, no plaintext retry (checklist 27; tls_opportunistic_fail)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { enable_tls: 'Opportunistic' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('TransientFailure');
    expect(ev!.response.content).toMatch(new RegExp(`^KumoMTA internal: failed to connect to any candidate hosts: TLS handshake with ${peer(m).replace(/[()[\]{}.]/g, '\\$&')} failed: .*self-signed`));
    expect(m.transactions).toHaveLength(0);
    expect(m.connections).toHaveLength(1);
  });

  it('opportunistic_tls_reconnect_on_failed_handshake reconnects in the clear (checklist 28; tls_opportunistic_reconnect)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { enable_tls: 'Opportunistic', opportunistic_tls_reconnect_on_failed_handshake: true } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const evs = await waitRecords(engine, 1);
    expect(evs.map((e) => e.type)).toEqual(['Delivery']);
    expect(evs[0]!.tls).toBeUndefined();
    expect(m.connections).toHaveLength(2);
    expect(m.delivered()[0]!.tls).toBe(false);
  });

  it('OpportunisticInsecure accepts a self-signed certificate and records TLS (checklist 29)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { enable_tls: 'OpportunisticInsecure' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(ev!.tls).toMatchObject({ protocolVersion: 'TLSv1.3', peerSubjectName: ['CN=mx.kumo-lua.test'] });
    expect(m.delivered()[0]!.tls).toBe(true);
  });

  it('Disabled never upgrades', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { enable_tls: 'Disabled' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(ev!.tls).toBeUndefined();
    expect(m.delivered()[0]!.tls).toBe(false);
  });

  it('remember_broken_tls: after a failed handshake Opportunistic sessions skip STARTTLS (checklist 31)', async () => {
    const m = await f.mx();
    engine = await f.engine(m, { path: { enable_tls: 'Opportunistic', remember_broken_tls: '1h' }, queue: { retry_interval: '10s' } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    await waitRecords(engine, 1);
    await advance(engine.clock, 30_000, 5_000);
    const evs = await waitRecords(engine, 2);
    expect(evs.map((e) => e.type)).toEqual(['TransientFailure', 'Delivery']);
    expect(m.delivered()[0]!.tls).toBe(false);
  });
});

describe('AUTH PLAIN', () => {
  const creds = { username: 'kumo', password: 's3cret' };

  it('authenticates over unverified TLS when allowed (auth_deliver)', async () => {
    const m = await f.mx({ auth: creds });
    engine = await f.engine(m, { path: { smtp_auth_plain_username: 'kumo', smtp_auth_plain_password: { key_data: 's3cret' }, allow_smtp_auth_plain_without_valid_certificate: true } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(m.delivered()[0]).toMatchObject({ user: 'kumo', tls: true });
  });

  it('refuses AUTH over an unverified certificate by default (checklist 36)', async () => {
    const m = await f.mx({ auth: creds });
    engine = await f.engine(m, { path: { smtp_auth_plain_username: 'kumo', smtp_auth_plain_password: { key_data: 's3cret' } } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: TLS peer certificate was not validated and AUTH PLAIN requires a valid certificate. Skipping (${peer(m)})`);
  });

  it('refuses AUTH without TLS unless allowed (checklist 35)', async () => {
    const m = await f.mx({ auth: creds, starttls: false });
    engine = await f.engine(m, { path: { smtp_auth_plain_username: 'kumo', smtp_auth_plain_password: { key_data: 's3cret' } } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: TLS is not enabled and AUTH PLAIN is required. Skipping (${peer(m)})`);
    await f.closeEngine();
    engine = await f.engine(m, { path: { smtp_auth_plain_username: 'kumo', smtp_auth_plain_password: { key_data: 's3cret' }, allow_smtp_auth_plain_without_tls: true } });
    await engine.manager.insert(mail(['b@example.org'], { clock: engine.clock }));
    const [ok] = await waitRecords(engine, 1);
    expect(ok!.type).toBe('Delivery');
    expect(m.delivered()[0]).toMatchObject({ user: 'kumo', tls: false });
  });

  it('a wrong password is a connection-level TransientFailure, never a Bounce (checklist 37; auth_deliver_invalid_password)', async () => {
    const m = await f.mx({ auth: creds });
    engine = await f.engine(m, { path: { smtp_auth_plain_username: 'kumo', smtp_auth_plain_password: { key_data: 'wrong' }, allow_smtp_auth_plain_without_valid_certificate: true } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'TransientFailure', code: 400, peer: null });
    expect(ev!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: authenticating as kumo via SMTP AUTH PLAIN to ${peer(m)}: Command rejected Response { code: 535, enhanced_code: Some(EnhancedStatusCode { class: 5, subject: 7, detail: 8 }), content: "authentication failed", command: None }`);
  });
});

describe('STARTTLS details', () => {
  it('EHLO is sent again after STARTTLS and its extension list wins (checklist 32)', async () => {
    const { mx, e } = await f.scripted({ enable_tls: 'OpportunisticInsecure' });
    mx.tls = await selfSignedFor('raw.test');
    mx.ehlo = '250-raw.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n';
    mx.ehloAfterTls = '250-raw.test\r\n250 8BITMIME\r\n';
    await e.manager.insert(mail(['a@example.org'], { clock: e.clock, body: 'Subject: caf\u00e9\r\n\r\nx\r\n' }));
    const [ev] = await waitRecords(e, 1);
    expect(ev!.type).toBe('Delivery');
    expect(mx.lines.filter((l) => l.startsWith('EHLO'))).toHaveLength(2);
    // 8BITMIME came only after TLS, PIPELINING only before: BODY= is sent, commands are not pipelined.
    expect(mx.lines).toContain('MAIL FROM:<sender@example.com> BODY=8BITMIME');
    expect(mx.chunks.find((c) => c.startsWith('MAIL'))).toBe('MAIL FROM:<sender@example.com> BODY=8BITMIME\r\n');
    expect(ev!.tls).toBeDefined();
  });
});

describe('TLS record fields', () => {
  it('the Delivery TLS fields equal what the receiver negotiated (tls_info_log)', async () => {
    const m = await f.mx();
    engine = await f.engine(m);
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(m.connections[0]!.cipher).not.toBeNull();
    expect(ev!.tls).toEqual({ cipher: m.connections[0]!.cipher, protocolVersion: m.connections[0]!.protocol, peerSubjectName: ['CN=mx.kumo-lua.test'] });
  });
});

describe('client certificate (tls_certificate, tls_private_key)', () => {
  it('is presented at STARTTLS; a bogus key fails the candidate (tls_client_certificate_*)', async () => {
    const client = await selfSignedFor('client.kumo-lua.test');
    const m = await f.mx({ requestClientCert: true });
    engine = await f.engine(m, { path: { tls_certificate: { key_data: client.cert }, tls_private_key: { key_data: client.key } } });
    await engine.manager.insert(mail(['a@example.org'], { clock: engine.clock }));
    const [ok] = await waitRecords(engine, 1);
    expect(ok!.type).toBe('Delivery');
    expect(m.connections[0]!.clientSubject).toBe('CN=client.kumo-lua.test');

    engine = await f.engine(m, { path: { tls_certificate: { key_data: client.cert }, tls_private_key: { key_data: 'not a key' } } });
    await engine.manager.insert(mail(['b@example.org'], { clock: engine.clock }));
    const [bad] = await waitRecords(engine, 1);
    expect(bad!.type).toBe('TransientFailure');
    // OpportunisticInsecure's handshake-failure form, with its summary prefix (§3.4, §4.7).
    expect(bad!.response.content).toBe(`KumoMTA internal: failed to connect to any candidate hosts: All failures are related to OpportunisticInsecure STARTTLS. Consider setting enable_tls=Disabled for this site. ${m.address}/127.0.0.1:${m.port}: EHLO after OpportunisticInsecure STARTTLS handshake status: failed: error:1E08010C:DECODER routines::unsupported`);
    expect(m.delivered()).toHaveLength(1);
  });
});
