import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { basic, postJson, startHttp, type HttpFixture } from './setup.ts';

let fx: HttpFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

// Nobody is trusted by IP: every request comes from 127.0.0.1.
const UNTRUSTED = { trusted_hosts: ['10.0.0.0/8'] };

const POLICY = `
local kumo = require 'kumo'
CALLS = 0
kumo.on('http_server_validate_auth_basic', function(user, password)
  CALLS = CALLS + 1
  if user == 'broken' then error('vault unreachable') end
  if user == 'ops' and password == 'secret' then
    return { identities = { { identity = 'ops', context = 'HttpBasicAuth' } }, groups = { 'kumomta:http-listener-trusted-ip' } }
  end
  return user == 'alice' and password == 'pw'
end)
kumo.on('http_message_generated', function(msg, auth_info)
  msg:set_meta('x_identity', auth_info.identities[1].identity)
end)
`;

const injection = { envelope_sender: 's@x.example', recipients: [{ email: 'r@y.example' }], content: 'Subject: x\r\n\r\nb\r\n' };

describe('HTTP authentication and access rules', () => {
  it('liveness is open to anyone; inject, admin and metrics are not', async () => {
    fx = await startHttp({ config: UNTRUSTED });
    const live = await fetch(fx.url + '/api/check-liveness/v1');
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('OK');

    const inject = await postJson(fx.url + '/api/inject/v1', injection);
    expect(inject.status).toBe(401);
    expect(await inject.text()).toMatch(/not permitted POST on http_listener\/127\.0\.0\.1:0\/api\/inject\/v1$/);
    expect((await fetch(fx.url + '/metrics')).status).toBe(401);
    expect((await fetch(fx.url + '/api/admin/bounce/v1')).status).toBe(401);
    expect(fx.intake.saved).toHaveLength(0);
  });

  it('a Basic-auth user validated by the policy may inject (http_auth = user) but not administer', async () => {
    fx = await startHttp({ config: UNTRUSTED, policy: POLICY });
    const res = await postJson(fx.url + '/api/inject/v1', injection, { authorization: basic('alice', 'pw') });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
    const msg = fx.intake.inserted[0]!;
    expect(msg.getMeta('http_auth')).toBe('alice');
    expect(msg.getMeta('x_identity')).toBe('alice');

    const admin = await fetch(fx.url + '/api/admin/bounce/v1', { headers: { authorization: basic('alice', 'pw') } });
    expect(admin.status).toBe(401);
    expect(await admin.text()).toMatch(/identities \[alice\] not permitted GET on /);
  });

  it('wrong credentials ⇒ 401 naming the user; verdicts are cached; handler errors ⇒ 500', async () => {
    fx = await startHttp({ config: UNTRUSTED, policy: POLICY });
    for (let i = 0; i < 3; i++) {
      const res = await postJson(fx.url + '/api/inject/v1', injection, { authorization: basic('alice', 'wrong') });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('HttpBasicAuth Authentication Failed for alice');
    }
    expect(await fx.lua.eval('return CALLS')).toBe(1);
    const broken = await postJson(fx.url + '/api/inject/v1', injection, { authorization: basic('broken', 'x') });
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe('try again later');
    const malformed = await postJson(fx.url + '/api/inject/v1', injection, { authorization: 'Basic' });
    expect(malformed.status).toBe(400);
    const scheme = await postJson(fx.url + '/api/inject/v1', injection, { authorization: 'Digest abc' });
    expect(scheme.status).toBe(400);
    expect(await scheme.text()).toBe('Malformed or unsupported Authorization header');
  });

  it('no validator registered ⇒ 401', async () => {
    fx = await startHttp({ config: UNTRUSTED });
    const res = await postJson(fx.url + '/api/inject/v1', injection, { authorization: basic('alice', 'pw') });
    expect(res.status).toBe(401);
  });

  it('a validator returning the trusted group opens admin and metrics', async () => {
    fx = await startHttp({ config: UNTRUSTED, policy: POLICY });
    const metrics = await fetch(fx.url + '/metrics', { headers: { authorization: basic('ops', 'secret') } });
    expect(metrics.status).toBe(200);
  });

  it('unknown paths are 404, wrong methods 405', async () => {
    fx = await startHttp();
    expect((await fetch(fx.url + '/api/nothing')).status).toBe(404);
    expect((await fetch(fx.url + '/api/inject/v1')).status).toBe(405);
  });

  it('liveness reports the health reason as 503', async () => {
    fx = await startHttp();
    fx.health.reason = 'waiting for spool startup';
    const res = await fetch(fx.url + '/api/check-liveness/v1');
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('waiting for spool startup');
  });

  it('compresses replies for clients that accept gzip and reads gzip request bodies', async () => {
    fx = await startHttp();
    const { gzipSync } = await import('node:zlib');
    const res = await fetch(fx.url + '/api/inject/v1', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'accept-encoding': 'gzip' },
      body: gzipSync(Buffer.from(JSON.stringify(injection))),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(((await res.json()) as { success_count: number }).success_count).toBe(1);
  });
});
