/**
 * A webhook policy written the way KumoMTA's documentation writes one, with
 * raw events and no helpers: configure_log_hook in init, routing in
 * should_enqueue_log_record, a custom_lua queue whose connection posts with
 * kumo.http. One injected-and-delivered message ⇒ exactly one Reception and
 * one Delivery record at the hook.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { injectHttp, luaPath, maildirMessages, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

const policy = (hookUrl: string) => (dir: string) => `
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.configure_local_logs { log_dir = ${luaPath(dir + '/logs')} }
  kumo.configure_log_hook {
    name = 'webhook',
    headers = { 'Subject', 'X-Customer-ID' },
  }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local log_record = msg:get_meta 'log_record'
  -- never log the delivery of a log record: that would loop forever
  if log_record.reception_protocol == 'LogRecord' then
    return false
  end
  if hook_name == 'webhook' then
    msg:set_meta('queue', 'webhook')
    return true
  end
  return false
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local connection = {}
  local client = kumo.http.build_client {}
  function connection:send(message)
    local request = client:post '${hookUrl}'
    request:header('Content-Type', 'application/json')
    request:body(message:get_data())
    local response = request:send()
    local disposition = string.format('%d %s: %s', response:status_code(), response:status_reason(), response:text())
    if response:status_is_success() then
      return disposition
    end
    kumo.reject(500, disposition)
  end
  function connection:close()
    client:close()
  end
  return connection
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
`;

type Rec = Record<string, unknown> & { type: string; id: string; headers: Record<string, string> };

let sink: WebhookSink;
let d: TestDaemon;

beforeEach(async () => {
  sink = await WebhookSink.start();
  d = await startDaemon({ policy: policy(`${sink.url}/log`) });
});

afterEach(async () => {
  await d?.stop();
  await sink.close();
});

const hookRecords = (type: string) => d.recordsOf(type).filter((r) => r.queue === 'webhook');

async function injectOne(): Promise<void> {
  const res = await injectHttp(d.httpUrl!, {
    envelope_sender: 'docs@example.com',
    recipients: [{ email: 'reader@example.net' }],
    content: { subject: 'as documented', text_body: 'docs body', headers: { 'X-Customer-ID': 'cust-9' } },
  });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ success_count: 1 });
}

describe("a policy in the style of KumoMTA's webhook docs", () => {
  it('one injected-and-delivered message ⇒ exactly one Reception and one Delivery at the hook', async () => {
    await injectOne();
    await d.waitFor(() => sink.requests.length >= 2 && hookRecords('Delivery').length >= 2, 'two hook deliveries');
    await d.stop({ keepState: true });

    expect(sink.requests).toHaveLength(2);
    const records = sink.requests.map((r) => r.json() as Rec);
    expect(records.map((r) => r.type).sort()).toEqual(['Delivery', 'Reception']);
    expect(new Set(records.map((r) => r.id)).size).toBe(1);
    for (const r of records) {
      expect(r).toMatchObject({ sender: 'docs@example.com', recipient: 'reader@example.net', queue: 'example.net', reception_protocol: 'HTTP' });
      expect(r.headers).toEqual({ Subject: 'as documented', 'X-Customer-ID': 'cust-9' });
    }
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({ delivery_protocol: 'Maildir' });
    for (const req of sink.requests) {
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/log');
      expect(req.headers['content-type']).toBe('application/json');
    }

    // The hook's own messages went through the custom_lua queue and were delivered with the connection's text.
    const hookDeliveries = hookRecords('Delivery');
    expect(hookDeliveries).toHaveLength(2);
    for (const r of hookDeliveries) {
      expect(r).toMatchObject({ reception_protocol: 'LogRecord', delivery_protocol: 'Lua', site: 'unspecified->webhook@lua:make.webhook' });
      expect(r.response).toMatchObject({ code: 200, content: '200 OK: ' });
    }
    expect(maildirMessages(d.stateDir)).toHaveLength(1);
    fs.rmSync(d.stateDir, { recursive: true, force: true });
  });

  it('a non-2xx answer is a permanent failure (kumo.reject(500)): each record is posted once and bounced', async () => {
    sink.respondWith({ status: 502, body: 'bad gateway' });
    await injectOne();
    await d.waitFor(() => hookRecords('Bounce').length >= 2, 'two hook bounces');
    await d.stop();
    expect(sink.requests).toHaveLength(2);
    for (const r of hookRecords('Bounce')) expect(r.response).toMatchObject({ code: 500, content: '502 Bad Gateway: bad gateway' });
    expect(hookRecords('TransientFailure')).toHaveLength(0);
  });
});
