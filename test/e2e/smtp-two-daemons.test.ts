/**
 * Two kumo-lua processes: a sender that delivers over SMTP and a sink that
 * receives with its ESMTP listener and writes a Maildir. Both publish every
 * record to one webhook; a message injected over HTTP at the sender arrives
 * in the sink's Maildir, body intact, with Reception + Delivery on each side.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { injectHttp, luaPath, makeStateDir, spawnCli, waitUntil, type SpawnedCli } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Log hook to `webhook`, spools under `dir`, and `listener` started in init. */
function policyHead(dir: string, webhook: string, listener: string): string {
  return `
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'webhook', url = '${webhook}' }
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  ${listener}
end)
`;
}

function sinkPolicy(dir: string, smtpPort: number, webhook: string): string {
  return `${policyHead(dir, webhook, `kumo.start_esmtp_listener { listen = '127.0.0.1:${smtpPort}', relay_hosts = { '127.0.0.1' } }`)}
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
`;
}

/** The sender routes by MX: example.org's MX comes from kumo.dns's test resolver, the port from smtp_port. */
function senderPolicy(dir: string, httpPort: number, mxPort: number, webhook: string): string {
  return `${policyHead(dir, webhook, `kumo.start_http_listener { listen = '127.0.0.1:${httpPort}' }
  kumo.dns.configure_test_resolver { [[
$ORIGIN example.org.
@  300 MX 10 mx.example.org.
mx 300 A  127.0.0.1
]] }`)}
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '2s' }
end)
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'OpportunisticInsecure', connection_limit = 2, smtp_port = ${mxPort} }
end)
`;
}

let procs: SpawnedCli[] = [];
let dirs: string[] = [];
let hook: WebhookSink | null = null;
afterEach(async () => {
  for (const p of procs) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
  procs = [];
  await hook?.close();
  hook = null;
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

type Rec = Record<string, unknown> & { type: string; id: string; recipient: string; response: { code: number; content: string; command: string | null } };

describe('two kumo-lua processes over SMTP', () => {
  it('sender → SMTP → sink: Maildir holds the body; both sides publish Reception and Delivery', async () => {
    hook = await WebhookSink.start();
    const sinkDir = makeStateDir('kumo-e2e-sink-');
    const senderDir = makeStateDir('kumo-e2e-sender-');
    dirs.push(sinkDir, senderDir);
    const [mxPort, httpPort] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(sinkDir, 'init.lua'), sinkPolicy(sinkDir, mxPort, `${hook.url}/sink`));
    fs.writeFileSync(path.join(senderDir, 'init.lua'), senderPolicy(senderDir, httpPort, mxPort, `${hook.url}/sender`));
    // Start-up compiles the TypeScript sources: slow on a busy machine.
    procs.push(spawnCli([path.join(sinkDir, 'init.lua')], { env: { KUMO_LUA_LOG: 'info' } }));
    procs.push(spawnCli([path.join(senderDir, 'init.lua')], { env: { KUMO_LUA_LOG: 'info' } }));
    await procs[0]!.waitForOutput(/spool .*requeued/, 'stderr', 120_000);
    await procs[1]!.waitForOutput(/spool .*requeued/, 'stderr', 120_000);
    expect(await listening(mxPort)).toBe(true);

    const body = 'Subject: across\r\nFrom: a@example.com\r\n\r\n.leading dot line\r\nsecond line\r\n';
    for (const to of ['one@example.org', 'two@example.org']) {
      const res = await injectHttp(`http://127.0.0.1:${httpPort}`, { envelope_sender: 'a@example.com', recipients: [{ email: to }], content: body });
      expect(res.status).toBe(200);
    }
    const records = (p: string) => hook!.requests.filter((r) => r.path === p).flatMap((r) => {
      const j = r.json();
      return (Array.isArray(j) ? j : [j]) as Rec[];
    });
    await waitUntil(() => records('/sender').filter((r) => r.type === 'Delivery').length === 2 && records('/sink').filter((r) => r.type === 'Delivery').length === 2, 'both sides to publish two Deliveries', 30_000);

    const sender = records('/sender');
    expect(sender.map((r) => r.type).sort()).toEqual(['Delivery', 'Delivery', 'Reception', 'Reception']);
    for (const d of sender.filter((r) => r.type === 'Delivery')) {
      expect(d).toMatchObject({ delivery_protocol: 'ESMTP', site: 'unspecified->mx.example.org@smtp_client', peer_address: { name: 'mx.example.org.', addr: '127.0.0.1' }, tls_protocol_version: 'TLSv1.3' });
      expect((d.source_address as { address: string }).address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(d.response).toMatchObject({ code: 250, command: '.\r\n' });
    }
    const sink = records('/sink');
    expect(sink.map((r) => r.type).sort()).toEqual(['Delivery', 'Delivery', 'Reception', 'Reception']);
    expect(sink.filter((r) => r.type === 'Reception').map((r) => r.recipient).sort()).toEqual(['one@example.org', 'two@example.org']);
    for (const r of sink.filter((x) => x.type === 'Reception')) expect(r).toMatchObject({ reception_protocol: 'ESMTP', sender: 'a@example.com' });
    expect(sink.filter((r) => r.type === 'Delivery').every((r) => r.delivery_protocol === 'Maildir')).toBe(true);

    const files = fs.readdirSync(path.join(sinkDir, 'maildir', 'new'));
    expect(files).toHaveLength(2);
    for (const f of files) {
      const text = fs.readFileSync(path.join(sinkDir, 'maildir', 'new', f), 'utf8');
      // Reception adds headers on each side (trace headers, injection's own); the body is untouched.
      expect(text).toContain('Subject: across\r\n');
      expect(text.endsWith('\r\n\r\n.leading dot line\r\nsecond line\r\n')).toBe(true);
      expect(text).toContain('\r\nReceived: from ');
    }
  }, 240_000);
});
