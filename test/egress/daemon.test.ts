/**
 * A whole daemon with a policy that defines sources and a pool in Lua:
 * get_egress_pool / get_egress_source / get_egress_path_config fire in the
 * right order with the right arguments, deliveries spread over the pool by
 * weight, and every record carries egress_pool / egress_source.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { advanceDaemon, injectHttp, luaPath, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { VirtualClock } from '../../src/util/clock.ts';

let d: TestDaemon | null = null;
afterEach(async () => {
  await d?.stop();
  d = null;
});

const policy = (dir: string) => `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('get_queue_config', function(domain)
  local pool
  if domain ~= 'plain.test' then pool = 'warm' end
  print('queue ' .. domain)
  return kumo.make_queue_config {
    egress_pool = pool,
    refresh_strategy = 'Epoch',
    protocol = { custom_lua = { constructor = 'make.deliver' } },
  }
end)
kumo.on('get_egress_pool', function(name)
  print('pool ' .. name)
  return kumo.make_egress_pool { name = name, entries = { { name = 'vmta-a', weight = 2 }, { name = 'vmta-b', weight = 1 }, { name = 'vmta-off', weight = 0 } } }
end)
kumo.on('get_egress_source', function(name)
  print('source ' .. name)
  return kumo.make_egress_source { name = name, source_address = '127.0.0.1', ehlo_domain = name .. '.out.test' }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  print('path ' .. domain .. ' ' .. source .. ' ' .. site)
  return kumo.make_egress_path { refresh_strategy = 'Epoch' }
end)
kumo.on('make.deliver', function(domain)
  return { send = function(self, msg) return 'ok' end }
end)
`;

async function inject(domain: string, n: number): Promise<void> {
  const recipients = Array.from({ length: n }, (_, i) => ({ email: `r${i}@${domain}` }));
  const res = await injectHttp(d!.httpUrl!, { envelope_sender: 's@example.com', recipients, content: 'Subject: x\r\n\r\nbody\r\n' });
  expect(res.status).toBe(200);
}

describe('egress sources and pools in the daemon', () => {
  it('fires pool, sources, then path config per source; records carry the pool and source', async () => {
    d = await startDaemon({ policy });
    await inject('warm.test', 6);
    await d.waitFor(() => d!.recordsOf('Delivery').length === 6, 'six deliveries');
    const events = d.printed;
    // Each event once: the pool (with every member) at queue creation, then the
    // source again (cached) before each ready queue's path config.
    expect(events.filter((e) => e.startsWith('pool'))).toEqual(['pool warm']);
    expect(events.filter((e) => e.startsWith('source')).sort()).toEqual(['source vmta-a', 'source vmta-b', 'source vmta-off']);
    expect(events.filter((e) => e.startsWith('path')).sort()).toEqual(['path warm.test vmta-a warm.test', 'path warm.test vmta-b warm.test']);
    expect(events.indexOf('path warm.test vmta-b warm.test')).toBeGreaterThan(events.indexOf('source vmta-b'));
    const deliveries = d.recordsOf('Delivery');
    expect(deliveries.filter((r) => r.egress_source === 'vmta-a').length).toBe(4);
    expect(deliveries.filter((r) => r.egress_source === 'vmta-b').length).toBe(2);
    for (const r of deliveries) {
      expect(r.egress_pool).toBe('warm');
      expect(r.site).toBe(`${r.egress_source}->warm.test@lua:make.deliver`);
    }
    const rq = d.manager.ready.queues.get('vmta-a->warm.test@lua:make.deliver')!;
    expect(rq.source.ehloDomain).toBe('vmta-a.out.test');
  });

  it('without egress_pool neither event fires and records show "unspecified"', async () => {
    d = await startDaemon({ policy });
    await inject('plain.test', 1);
    await d.waitFor(() => d!.recordsOf('Delivery').length === 1, 'delivery');
    expect(d.printed.filter((e) => e.startsWith('pool') || e.startsWith('source'))).toEqual([]);
    expect(d.printed).toContain('path plain.test unspecified plain.test');
    expect(d.recordsOf('Delivery')[0]).toMatchObject({ egress_pool: 'unspecified', egress_source: 'unspecified', site: 'unspecified->plain.test@lua:make.deliver' });
  });
});

describe('kumo.bump_config_epoch in the daemon', () => {
  it('makes Epoch-refreshed queues re-fire get_queue_config and get_egress_path_config on the next maintenance pass', async () => {
    const clock = new VirtualClock();
    d = await startDaemon({ policy, clock });
    await inject('plain.test', 1);
    await d.waitFor(() => d!.recordsOf('Delivery').length === 1, 'delivery');
    const paths = () => d!.printed.filter((e) => e === 'path plain.test unspecified plain.test').length;
    const queues = () => d!.printed.filter((e) => e === 'queue plain.test').length;
    expect([queues(), paths()]).toEqual([1, 1]);
    await advanceDaemon(d, 70_000, 10_000);
    expect([queues(), paths()]).toEqual([1, 1]); // Epoch strategy: no TTL refresh
    await d.kumod.ctx.runtime.evaluate("require('kumo').bump_config_epoch()", () => undefined);
    await advanceDaemon(d, 10_000);
    await d.waitFor(() => paths() === 2 && queues() === 2, 'configs refreshed after the epoch bump');
  });
});
