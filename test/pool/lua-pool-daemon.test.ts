/**
 * --lua-threads: custom_lua connections on a pool of worker Lua states, in a
 * whole daemon (real spool, HTTP listener, webhook sink on 127.0.0.1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { injectHttp, luaPath, maildirWebhookPolicy, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

let sink: WebhookSink | null = null;
let daemons: TestDaemon[] = [];

afterEach(async () => {
  for (const d of daemons) await d.stop();
  await sink?.close();
  daemons = [];
  sink = null;
});

const RECEPTIONS_ONLY = `filter = function(msg) return msg:get_meta('log_record').type ~= 'Reception' end,`;

async function inject(d: TestDaemon, domain: string, n = 1): Promise<void> {
  const recipients = Array.from({ length: n }, (_, i) => ({ email: `r${i}@${domain}` }));
  const res = await injectHttp(d.httpUrl!, { envelope_sender: 's@example.com', recipients, content: { subject: 'x', text_body: 'x' } });
  expect(res.json).toMatchObject({ success_count: n });
}

/**
 * A policy whose `<name>.example` domains are delivered by the custom_lua
 * constructor `make.<name>`: spool, HTTP listener, no log hooks (so no other
 * event competes for the worker states).
 */
function customLuaPolicy(constructors: string): (dir: string) => string {
  return (dir) => `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('get_queue_config', function(domain)
  local name = domain:match('^(%w+)%.example$')
  if name then return kumo.make_queue_config { retry_interval = '1s', protocol = { custom_lua = { constructor = 'make.' .. name } } } end
end)
${constructors}`;
}

function transientTexts(d: TestDaemon): string[] {
  return d.recordsOf('TransientFailure').map((r) => (r.response as { content: string }).content.replaceAll(d.stateDir, '<dir>'));
}

describe('--lua-threads 2', () => {
  it('log_hooks:new_json delivers every record through a connection built on a worker state; the filter runs on workers', async () => {
    sink = await WebhookSink.start();
    const filter = `filter = function(msg)
      print('filter on worker ' .. tostring(_KUMO_LUA_WORKER))
      return msg:get_meta('log_record').type ~= 'Reception'
    end,`;
    const d = await startDaemon({ luaThreads: 2, policy: maildirWebhookPolicy({ webhookUrl: `${sink.url}/hook`, hookExtra: filter }) });
    daemons.push(d);
    await inject(d, 'example.net', 3);
    await d.waitFor(() => d.recordsOf('Delivery').filter((r) => r.queue === 'webhook.log_hook').length === 3, 'three hook deliveries');
    expect(sink.requests.map((r) => (r.json() as { recipient: string }).recipient).sort()).toEqual(['r0@example.net', 'r1@example.net', 'r2@example.net']);
    const pool = d.kumod.services.pool!;
    expect(pool.workers).toHaveLength(2);
    expect(pool.workers.reduce((n, w) => n + w.connects, 0)).toBeGreaterThanOrEqual(1);
    // should_enqueue_log_record (log_hooks' filter) ran on worker states; the queue it set came back.
    expect(d.printed.length).toBeGreaterThanOrEqual(6);
    expect(d.printed.every((l) => /^filter on worker [01]$/.test(l))).toBe(true);
  });

  it('the constructor runs on a worker (_KUMO_LUA_WORKER) and meta set by send travels back to the message', async () => {
    const d = await startDaemon({
      luaThreads: 2,
      policy: customLuaPolicy(`
kumo.on('make.meta', function()
  print('constructed on worker ' .. tostring(_KUMO_LUA_WORKER))
  return { send = function(self, msg)
    local n = (msg:get_meta('tries') or 0) + 1
    msg:set_meta('tries', n)
    if n < 2 then kumo.reject(451, 'again ' .. n) end
    return 'done after ' .. n
  end }
end)`),
    });
    daemons.push(d);
    expect(d.printed).toEqual([]);
    await inject(d, 'meta.example');
    // Without the meta change carried back, every attempt would see tries = nil and reject again.
    await d.waitFor(() => d.recordsOf('Delivery').length === 1, 'the retry', 20_000);
    expect(transientTexts(d)).toEqual(['again 1']);
    expect((d.recordsOf('Delivery')[0]!.response as { content: string }).content).toBe('done after 2');
    expect(d.printed[0]).toMatch(/^constructed on worker [01]$/);
  });

  it('an error raised in send is the same TransientFailure text as on the main state; so is the CPU guard stop', async () => {
    const constructors = `
kumo.on('make.boom', function()
  return { send = function(self, msg)
    local function inner() error('boom in send') end
    inner()
  end }
end)
kumo.on('make.spin', function()
  return { send = function(self, msg) while true do end end }
end)`;
    const texts: string[][] = [];
    for (const luaThreads of [0, 2]) {
      const d = await startDaemon({ luaThreads, cpuLimitMs: 300, policy: customLuaPolicy(constructors) });
      daemons.push(d);
      await inject(d, 'boom.example');
      await inject(d, 'spin.example');
      await d.waitFor(() => d.recordsOf('TransientFailure').length === 2, 'two transient failures', 20_000);
      texts.push(transientTexts(d).sort());
    }
    expect(texts[0]![0]).toMatch(/boom in send stack traceback:.*<dir>\/policy\.lua:\d+: in local 'inner'/s);
    expect(texts[0]![1]).toContain("kumo-lua stopped a handler in 'custom_lua:send' that ran for more than 300ms");
    expect(texts[1]).toEqual(texts[0]);
  });

  it('an engine-facing function that is not routed raises a clear error; a routed one answers from the main state', async () => {
    const d = await startDaemon({
      luaThreads: 2,
      policy: customLuaPolicy(`
kumo.on('make.inject', function()
  return { send = function(self, msg) kumo.configure_local_logs { log_dir = '/nonexistent' } return 'no' end }
end)
kumo.on('make.admin', function()
  return { send = function(self, msg)
    kumo.api.admin.suspend.suspend { domain = 'other.example', reason = 'from a worker', duration = '1h' }
    local list = kumo.api.admin.suspend.list()
    return 'suspended ' .. list[1].domain .. ': ' .. list[1].reason
  end }
end)`),
    });
    daemons.push(d);
    await inject(d, 'inject.example');
    await inject(d, 'admin.example');
    await d.waitFor(() => d.recordsOf('TransientFailure').length >= 1 && d.recordsOf('Delivery').length >= 1, 'both sends', 20_000);
    expect(transientTexts(d)[0]).toContain('kumo.configure_local_logs is not available on worker Lua states yet (--lua-threads)');
    expect((d.recordsOf('Delivery')[0]!.response as { content: string }).content).toBe('suspended other.example: from a worker');
  });

  it('kumo.inject_message from a worker queues the message in the engine', async () => {
    const d = await startDaemon({
      luaThreads: 2,
      policy: customLuaPolicy(`
kumo.on('make.injector', function()
  return { send = function(self, msg)
    kumo.inject_message(kumo.make_message('s@example.com', 'r@ok.example', 'Subject: made on a worker\\r\\n\\r\\nbody'))
    return 'injected'
  end }
end)
kumo.on('make.ok', function() return { send = function(self, msg) return 'got ' .. msg:get_first_named_header_value('Subject') end } end)`),
    });
    daemons.push(d);
    await inject(d, 'injector.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 2, 'both deliveries', 20_000);
    expect(d.recordsOf('Delivery').map((r) => (r.response as { content: string }).content).sort()).toEqual(['got made on a worker', 'injected']);
  });

  it('kumo.memoize is one cache for every worker state: two workers, one populate', async () => {
    const d = await startDaemon({
      luaThreads: 2,
      policy: customLuaPolicy(`
local lookup = kumo.memoize(function(k)
  print('populate ' .. k .. ' on worker ' .. tostring(_KUMO_LUA_WORKER))
  return { v = k .. '!' }
end, { name = 'shared-lookup', ttl = '1h', capacity = 10 })
local function connection()
  return { send = function(self, msg) return lookup('k').v .. ' on ' .. tostring(_KUMO_LUA_WORKER) end }
end
kumo.on('make.a', connection)
kumo.on('make.b', connection)`),
    });
    daemons.push(d);
    await inject(d, 'a.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 1, 'first delivery');
    await inject(d, 'b.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 2, 'second delivery');
    const contents = d.recordsOf('Delivery').map((r) => (r.response as { content: string }).content);
    expect(contents.sort()).toEqual(['k! on 0', 'k! on 1']);
    expect(d.printed.filter((l) => l.startsWith('populate'))).toHaveLength(1);
  });

  it('a send that hogs its worker (no yield point) does not stall a send on the other worker', async () => {
    sink = await WebhookSink.start();
    const d = await startDaemon({
      luaThreads: 2,
      policy: customLuaPolicy(`
local function post(path)
  kumo.http.build_client({}):post('${sink.url}' .. path):send()
end
kumo.on('make.slow', function()
  return { send = function(self, msg)
    post('/slow-started')
    -- A gsub callback cannot yield: time slicing cannot park this, the whole state is busy.
    local t0 = os.clock()
    string.gsub('x', 'x', function() while os.clock() - t0 < 2 do end end)
    post('/slow')
    return 'slow'
  end }
end)
kumo.on('make.fast', function()
  return { send = function(self, msg) post('/fast') return 'fast' end }
end)`),
    });
    daemons.push(d);
    await inject(d, 'slow.example');
    await sink.waitForRequests(1);
    await inject(d, 'fast.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 2, 'both deliveries', 20_000);
    expect(sink.requests.map((r) => r.path)).toEqual(['/slow-started', '/fast', '/slow']);
  });

  it('time slicing works in a worker: a busy send (yieldable loop) lets another send on the same state run', async () => {
    sink = await WebhookSink.start();
    const d = await startDaemon({
      luaThreads: 1,
      policy: customLuaPolicy(`
local function post(path)
  kumo.http.build_client({}):post('${sink.url}' .. path):send()
end
kumo.on('make.busy', function()
  return { send = function(self, msg)
    post('/busy-started')
    local t0 = os.clock()
    while os.clock() - t0 < 1.5 do end
    post('/busy')
    return 'busy'
  end }
end)
kumo.on('make.quick', function()
  return { send = function(self, msg) post('/quick') return 'quick' end }
end)`),
    });
    daemons.push(d);
    await inject(d, 'busy.example');
    await sink.waitForRequests(1);
    await inject(d, 'quick.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 2, 'both deliveries', 20_000);
    expect(sink.requests.map((r) => r.path)).toEqual(['/busy-started', '/quick', '/busy']);
  });

  it('a worker thread that dies is replaced; its messages are retried and delivered', async () => {
    const d = await startDaemon({ luaThreads: 1, policy: customLuaPolicy(`kumo.on('make.ok', function() return { send = function() return 'ok on a new state' end } end)`) });
    daemons.push(d);
    await inject(d, 'ok.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 1, 'first delivery');
    const pool = d.kumod.services.pool!;
    const first = pool.workers[0]!;
    await first.terminate();
    await d.waitFor(() => pool.workers[0] !== first, 'replacement');
    await inject(d, 'ok.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 2, 'delivery after the crash', 20_000);
    expect(pool.restarts).toBe(1);
    expect(d.log.lines.some((l) => l.level === 'error' && l.message.includes('Lua worker 0 exited unexpectedly'))).toBe(true);
  });

  it('shuts down cleanly: every worker exits', async () => {
    const d = await startDaemon({ luaThreads: 2, policy: customLuaPolicy(`kumo.on('make.ok', function() return { send = function() return 'ok' end, close = function() end } end)`) });
    await inject(d, 'ok.example');
    await d.waitFor(() => d.recordsOf('Delivery').length === 1, 'delivery');
    const pool = d.kumod.services.pool!;
    await d.stop();
    expect(pool.workers.map((w) => w.exited)).toEqual([true, true]);
  });
});

describe('--lua-threads: a policy whose top level a worker cannot run', () => {
  it('fails the start with the worker, the function and the policy line', async () => {
    const err = await startDaemon({
      luaThreads: 1,
      policy: customLuaPolicy(`if _KUMO_LUA_WORKER then kumo.set_diagnostic_log_filter('info') end`),
    }).then(
      (d) => {
        daemons.push(d);
        return null;
      },
      (e: Error & { describe?: () => string }) => e.describe?.() ?? e.message,
    );
    expect(err).toMatch(/^Lua worker 0 \(--lua-threads\) could not load the policy: kumo\.set_diagnostic_log_filter is not available on worker Lua states yet/);
    expect(err).toMatch(/policy\.lua:\d+: in main chunk/);
  });
});
