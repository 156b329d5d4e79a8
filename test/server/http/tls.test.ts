import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Agent, fetch } from 'undici';
import { selfSignedFor } from '../../../src/server/tls.ts';
import { startHttp } from './setup.ts';

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

function peerCertificateCN(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(String(s.getPeerCertificate().subject.CN));
      s.end();
    });
    s.on('error', reject);
  });
}

describe('HTTPS listener', () => {
  it('use_tls without certificates serves HTTPS with a self-signed certificate for the hostname', async () => {
    const fx = await startHttp({ config: { use_tls: true, hostname: 'secure.test.example' } });
    try {
      expect(fx.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(fx.url + '/api/check-liveness/v1', { dispatcher: insecure });
      expect(await res.text()).toBe('OK');
      expect(await peerCertificateCN(fx.listener.port)).toBe('secure.test.example');
    } finally {
      await fx.close();
    }
  });

  it('uses the configured PEM files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-tls-'));
    const pems = await selfSignedFor('from-files.example');
    fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), pems.key);
    const fx = await startHttp({ config: { use_tls: true, tls_certificate: path.join(dir, 'cert.pem'), tls_private_key: path.join(dir, 'key.pem') } });
    try {
      expect(await peerCertificateCN(fx.listener.port)).toBe('from-files.example');
    } finally {
      await fx.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('a missing certificate file is a clear error', async () => {
    await expect(startHttp({ config: { use_tls: true, tls_certificate: '/nonexistent/cert.pem', tls_private_key: '/nonexistent/key.pem' } })).rejects.toThrow(
      /tls_certificate: cannot read '\/nonexistent\/cert.pem'/,
    );
  });
});
