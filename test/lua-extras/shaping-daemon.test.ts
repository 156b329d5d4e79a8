/**
 * policy-extras.shaping with a shaping daemon (a stand-in on 127.0.0.1):
 * records published over HTTP, the daemon's shaping file loaded, and its
 * suspension events applied through kumo.api.admin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { advanceDaemon, injectHttp, luaPath, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { ShapingDaemon } from '../helpers/shaping-daemon.ts';
import { toJson } from '../../src/lua/marshal.ts';

let daemon: ShapingDaemon | undefined;
let kumo: TestDaemon | undefined;
afterEach(async () => {
  await kumo?.stop();
  await daemon?.stop();
  kumo = daemon = undefined;
});

function policy(options: string) {
  return (dir: string) => `
    local kumo = require 'kumo'
    local shaping = require 'policy-extras.shaping'
    HELPER = shaping:setup_with_automation { no_default_files = true, ${options} }
    kumo.on('get_egress_path_config', HELPER.get_egress_path_config)
    kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
      return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(`${dir}/maildir`)} } }
    end)
    kumo.on('init', function()
      kumo.define_spool { name = 'data', path = ${luaPath(`${dir}/data`)} }
      kumo.define_spool { name = 'meta', path = ${luaPath(`${dir}/meta`)} }
      kumo.start_http_listener { listen = '127.0.0.1:0' }
      HELPER.setup_publish()
    end)
  `;
}

const evalIn = (d: TestDaemon, code: string) => d.kumod.ctx.runtime.evaluate(code, (co, n) => (n > 0 ? toJson(co, 1) : null), 'load:test');

describe('policy-extras.shaping with a shaping daemon', () => {
  it('publishes log records to <url>/publish_log_v1 (skipping Reception) and uses the shaping file it serves', async () => {
    daemon = await ShapingDaemon.start({ shapingToml: '["daemon.test"]\nmx_rollup = false\nconnection_limit = 7\n' });
    kumo = await startDaemon({
      policy: policy(`publish = { '${daemon.url}' }, pre_filter = false, extra_files = { '${daemon.url}/get_config_v1/shaping.toml' }`),
    });
    const r = await injectHttp(kumo.httpUrl!, { envelope_sender: 'a@example.com', recipients: [{ email: 'b@daemon.test' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
    expect(r.status).toBe(200);
    const d = daemon;
    await kumo.waitFor(() => d.published.some((p) => JSON.parse(p).type === 'Delivery'), 'a Delivery record at the daemon');
    expect(d.published.map((p) => JSON.parse(p).type)).not.toContain('Reception');
    expect(await evalIn(kumo, `return HELPER.get_egress_path_config('daemon.test', 'unspecified', 'daemon.test').connection_limit`)).toBe(7);
  });

  it('subscribes over websocket and applies suspensions (needs spawn_task and kumo.api.admin from egress)', async () => {
    daemon = await ShapingDaemon.start({
      events: [{ SchedQSuspension: { domain: 'slow.test', tenant: null, campaign: null, reason: 'too many 421s', rule_hash: 'abc', expires: '2099-01-01T00:00:00Z' } }],
    });
    kumo = await startDaemon({ policy: policy(`subscribe = { '${daemon.url}' }`) });
    const d = daemon;
    await kumo.waitFor(() => d.subscriptions.length > 0, 'a subscription');
    const k = kumo;
    let reasons: unknown = [];
    await kumo.waitFor(() => {
      void evalIn(k, `local out = {} for _, e in ipairs(require('kumo').api.admin.suspend.list()) do out[#out + 1] = e.reason end return out`).then((r) => (reasons = r));
      return Array.isArray(reasons) && reasons.length > 0;
    }, 'the suspension');
    expect(reasons).toEqual(['too many 421s (rule_hash=abc)']);
  });

  it('falls back to the legacy subscription path when the new one answers 404 (needs spawn_task from egress)', async () => {
    daemon = await ShapingDaemon.start({ legacyOnly: true });
    kumo = await startDaemon({ policy: policy(`subscribe = { '${daemon.url}' }`) });
    const d = daemon;
    await kumo.waitFor(() => d.subscriptions.includes('/subscribe_suspension_v1'), 'the legacy subscription');
  });

  it('a daemon that does not answer is reported once and retried every 30 s (needs spawn_task from egress)', async () => {
    kumo = await startDaemon({ clock: new VirtualClock(), policy: policy(`subscribe = { 'http://127.0.0.1:9' }`) });
    const k = kumo;
    const complaints = () => k.log.lines.filter((l) => /no shaping daemon answers at ws:\/\/127\.0\.0\.1:9\/subscribe_event_v1/.test(l.message)).length;
    await kumo.waitFor(() => complaints() === 1, 'the first complaint');
    await advanceDaemon(kumo, 95_000, 30_000);
    expect(complaints()).toBe(1);
  });
});
