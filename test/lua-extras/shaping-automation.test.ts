/**
 * policy-extras.shaping_automation (lua-api-more §11.3, "Events from
 * setup_with_automation" and the two tasks): which log records go to a
 * publish hook, the hook's queue config, setup_publish, the daemon's events
 * mapped onto kumo.api.admin, the publisher's error path, and the config
 * monitor bumping the epoch when the shaping data changes. The live daemon
 * paths are in shaping-daemon.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { newLua, type TestContext } from '../helpers/lua.ts';
import { fire, PRELUDE } from '../helpers/lua-extras.ts';

const RULES = '["slow.test"]\nmx_rollup = false\nconnection_limit = 3\n[["slow.test".automation]]\nregex = "rate limited"\naction = "Suspend"\nduration = "1h"\n';
const URL = 'http://127.0.0.1:8008';
const HOOK = `${URL}.tsa.kumomta`;

function shapingFile(text = RULES): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shaping-auto-')), 'shaping.toml');
  fs.writeFileSync(file, text);
  return file;
}

/** The helper set up with one publish URL; records in globals MATCHING, NOT_MATCHING, RECEPTION, LOOP, HOOK_QUEUE. */
async function withPublish(options = '', file = shapingFile()): Promise<TestContext> {
  const t = newLua();
  await t.load(PRELUDE);
  await t.load(`
    local shaping = require 'policy-extras.shaping'
    HELPER = shaping:setup_with_automation { no_default_files = true, extra_files = { '${file}' }, publish = { '${URL}' }, ${options} }
    HOOK, OTHER = '${HOOK}', 'webhook'
    local function rec(fields)
      local r = { type = 'TransientFailure', queue = 'slow.test', reception_protocol = 'ESMTP', recipient = 'u@slow.test',
        site = 'slow.test', response = { code = 421, content = '4.7.0 rate limited, slow down' } }
      for k, v in pairs(fields) do r[k] = v end
      return make_msg('{}\\n', r)
    end
    MATCHING = rec {}
    NOT_MATCHING = rec { response = { code = 421, content = '4.3.0 try again later' } }
    RECEPTION = rec { type = 'Reception' }
    LOOP = rec { reception_protocol = 'LogRecord' }
    HOOK_QUEUE = rec { queue = HOOK }
  `);
  return t;
}

describe('policy-extras.shaping publishing (should_enqueue_log_record, get_queue_config, setup_publish)', () => {
  it('with pre_filter (default) only records some automation rule matches go to the hook, queued to it', async () => {
    const t = await withPublish();
    expect(await fire(t, 'should_enqueue_log_record', ['MATCHING', 'HOOK'])).toEqual({ handled: true, value: true });
    expect(await t.eval("return MATCHING:get_meta 'queue'")).toBe(HOOK);
    expect(await fire(t, 'should_enqueue_log_record', ['NOT_MATCHING', 'HOOK'])).toEqual({ handled: true, value: false });
    // its own hook messages, records already in a hook queue and skipped types never go
    for (const g of ['LOOP', 'HOOK_QUEUE', 'RECEPTION']) {
      expect(await fire(t, 'should_enqueue_log_record', [g, 'HOOK']), g).toEqual({ handled: true, value: false });
    }
    // other hooks are left to their own handlers
    expect((await fire(t, 'should_enqueue_log_record', ['MATCHING', 'OTHER'])).handled).toBe(false);
  });

  it('pre_filter = false publishes unmatched records; skip lists replace or extend the default', async () => {
    const all = await withPublish('pre_filter = false');
    expect(await fire(all, 'should_enqueue_log_record', ['NOT_MATCHING', 'HOOK'])).toEqual({ handled: true, value: true });
    const extra = await withPublish("pre_filter = false, additional_skip_log_record_types = { 'TransientFailure' }");
    expect(await fire(extra, 'should_enqueue_log_record', ['NOT_MATCHING', 'HOOK'])).toEqual({ handled: true, value: false });
    expect(await fire(extra, 'should_enqueue_log_record', ['RECEPTION', 'HOOK'])).toEqual({ handled: true, value: false });
    const none = await withPublish('pre_filter = false, skip_log_record_types = {}');
    expect(await fire(none, 'should_enqueue_log_record', ['RECEPTION', 'HOOK'])).toEqual({ handled: true, value: true });
  });

  it("the hook's queue retries every minute up to 20 minutes, plus tsa_queue_config; other queues are not answered", async () => {
    const t = await withPublish("tsa_queue_config = { max_age = '2 hours' }");
    await t.load(`Q_HOOK, Q_OTHER = HOOK, 'example.com'`);
    expect((await fire(t, 'get_queue_config', ['Q_OTHER', 'nil', 'nil', 'nil'])).handled).toBe(false);
    expect((await fire(t, 'get_queue_config', ['Q_HOOK', 'nil', 'nil', 'nil'])).handled).toBe(true);
    expect(await t.eval('return CALLS.make_queue_config[#CALLS.make_queue_config]')).toEqual({
      retry_interval: '1m', max_retry_interval: '20m', max_age: '2 hours', protocol: { custom_lua: { constructor: `make.${HOOK}` } },
    });
  });

  it('setup_publish configures the hook without the skipped types; with subscribe it spawns a subscriber per URL and the monitor', async () => {
    const t = await withPublish(`subscribe = { '${URL}', 'http://127.0.0.1:8009' }, back_pressure = 500`);
    await t.load(`
      SPAWNED = {}
      require('kumo').spawn_task = function(p) SPAWNED[#SPAWNED + 1] = { event_name = p.event_name, url = p.args[1] } end
      HELPER.setup_publish()
    `);
    const hooks = (await t.eval('return CALLS.configure_log_hook')) as { name: string; back_pressure: number; per_record: Record<string, unknown> }[];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.name).toBe(HOOK);
    expect(hooks[0]!.back_pressure).toBe(500);
    expect(Object.keys(hooks[0]!.per_record).sort()).toEqual(['AdminRebind', 'DeferredInjectionRebind', 'Delayed', 'Reception', 'Rejection', 'XferIn', 'XferOut']);
    expect(hooks[0]!.per_record.Reception).toEqual({ enable: false });
    expect(await t.eval('return SPAWNED')).toEqual([
      { event_name: 'kumo.tsa.suspension.subscriber', url: URL },
      { event_name: 'kumo.tsa.suspension.subscriber', url: 'http://127.0.0.1:8009' },
      { event_name: 'kumo.tsa.config.monitor' },
    ]);
  });
});

describe('policy-extras.shaping daemon events and tasks', () => {
  it('ReadyQSuspension, SchedQSuspension and SchedQBounce map onto kumo.api.admin with the rule hash in the reason', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      CALLED = {}
      local function rec(kind) return function(p) p.kind = kind; CALLED[#CALLED + 1] = p end end
      kumo.api = { admin = { suspend_ready_q = { suspend = rec 'ready' }, suspend = { suspend = rec 'sched' }, bounce = { bounce = rec 'bounce' } } }
      local auto = require 'policy-extras.shaping_automation'
      auto.apply_event { ReadyQSuspension = { site_name = 'mx.slow.test', reason = 'r1', rule_hash = 'h1', expires = 'E1' } }
      auto.apply_event { SchedQSuspension = { domain = 'slow.test', tenant = 't', campaign = 'c', reason = 'r2', rule_hash = 'h2', expires = 'E2' } }
      auto.apply_event { SchedQBounce = { domain = 'gone.test', reason = 'r3', rule_hash = 'h3', expires = 'E3' } }
    `);
    expect(await t.eval('return CALLED')).toEqual([
      { kind: 'ready', name: 'mx.slow.test', reason: 'r1 (rule_hash=h1)', expires: 'E1' },
      { kind: 'sched', domain: 'slow.test', tenant: 't', campaign: 'c', reason: 'r2 (rule_hash=h2)', expires: 'E2' },
      { kind: 'bounce', domain: 'gone.test', reason: 'r3 (rule_hash=h3)', expires: 'E3' },
    ]);
  });

  it('the config monitor bumps the epoch only when the shaping data changes', async () => {
    const file = shapingFile();
    const t = await withPublish('', file);
    await t.load(`
      local kumo = require 'kumo'
      BUMPS, SLEEPS = 0, 0
      kumo.bump_config_epoch = function() BUMPS = BUMPS + 1 end
      kumo.sleep = function()
        SLEEPS = SLEEPS + 1
        if SLEEPS == 2 then
          local f = io.open('${file}', 'a'); f:write('["other.test"]\\nmx_rollup = false\\nconnection_limit = 1\\n'); f:close()
        elseif SLEEPS == 4 then
          error('stop the monitor')
        end
      end
    `);
    await fire(t, 'kumo.tsa.config.monitor', []).catch(() => undefined);
    // pass 1 records the hash, pass 2 sees no change, the file changes, pass 3 bumps, pass 4 sees no change
    expect(await t.eval('return { BUMPS, SLEEPS }')).toEqual([1, 4]);
  });
});

describe('policy-extras.shaping publisher', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('a 2xx from /publish_log_v1 is returned as "<code> <reason>: <body>"; anything else rejects with 400 and the same text', async () => {
    const bodies: string[] = [];
    let status = 200;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(status === 200 ? 'stored' : 'daemon is sad');
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t = newLua();
    await t.load(PRELUDE);
    await t.load(`
      local kumo = require 'kumo'
      require('policy-extras.shaping'):setup_with_automation { no_default_files = true, publish = { '${url}' } }
      MSG = make_msg('{"type":"Delivery"}', nil)
    `);
    await fire(t, `make.${url}.tsa.kumomta`, [], 'SENDER');
    expect(await t.eval('return SENDER:send(MSG)')).toBe('200 OK: stored');
    expect(bodies).toEqual([`POST /publish_log_v1 application/json {"type":"Delivery"}`]);
    status = 503;
    const failed = await t.eval('local ok, err = pcall(SENDER.send, SENDER, MSG) return { ok, tostring(err) }');
    expect(failed).toEqual([false, expect.stringMatching(/400.*503 Service Unavailable: daemon is sad/)]);
  });
});
