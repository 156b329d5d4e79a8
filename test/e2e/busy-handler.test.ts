/**
 * A policy handler stuck in a loop no longer freezes the daemon until the CPU
 * guard stops it: the Lua runtime time-slices it (src/lua/runtime.ts), so an
 * unrelated HTTP injection is answered and delivered first. Order, not wall time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { injectHttp, luaPath, startDaemon, type TestDaemon } from '../helpers/daemon.ts';

let d: TestDaemon | undefined;
afterEach(async () => {
  await d?.stop();
  d = undefined;
});

const policy = (dir: string) => `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.configure_local_logs { log_dir = ${luaPath(dir + '/logs')} }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('http_message_generated', function(msg)
  if msg:recipient().user == 'spin' then
    print('spinning')
    while true do end
  end
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
`;

const request = (user: string) => ({ envelope_sender: 'api@example.com', recipients: [{ email: `${user}@example.net` }], content: { subject: user, text_body: 'hi' } });

describe('a spinning handler', () => {
  it('another injection is answered 200 and delivered before the CPU guard stops the spinner', async () => {
    const daemon = (d = await startDaemon({ policy, cpuLimitMs: 2000 }));
    const url = daemon.httpUrl!;
    const order: string[] = [];
    let spinText = '';
    const spin = injectHttp(url, request('spin')).then((r) => {
      spinText = r.text;
      order.push(`spin answered ${r.status}`);
    });
    await daemon.waitFor(() => daemon.printed.includes('spinning'), 'the spinner to start');
    const ok = injectHttp(url, request('ok')).then((r) => void order.push(`ok answered ${r.status}`));
    const delivered = daemon
      .waitFor(() => daemon.recordsOf('Delivery').some((r) => r.recipient === 'ok@example.net'), 'delivery of ok@', 15_000)
      .then(() => void order.push('ok delivered'));
    await Promise.all([spin, ok, delivered]);
    expect(order.slice(0, 2).sort()).toEqual(['ok answered 200', 'ok delivered']);
    expect(order[2]).toMatch(/^spin answered /);
    expect(spinText).toMatch(/ran for more than 2000ms/);
  });
});
