import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { runtimeKnobsOf } from '../../src/kumo/knobs.ts';
import { EGRESS_RESOLVER } from '../../src/kumo/egress.ts';

afterEach(() => {
  delete process.env.KUMO_AVAILABLE_PARALLELISM;
});

describe('runtime tuning knobs (§9)', () => {
  it('set_smtpsrv_threads(-1) raises, (4) succeeds silently; say so once at info (checklist 73)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval('kumo.set_smtpsrv_threads(-1)'))).toMatch(/kumo\.set_smtpsrv_threads: expected a non-negative integer, got "-1"/);
    expect(await errorOf(t.eval("kumo.set_smtpsrv_threads('many')"))).toMatch(/non-negative integer/);
    await t.eval("kumo.set_smtpsrv_threads(4) kumo.set_smtpsrv_threads('8') kumo.set_smtpsrv_threads(2.0)");
    const info = t.log.lines.filter((l) => l.message.includes('set_smtpsrv_threads'));
    expect(info).toEqual([{ level: 'info', message: expect.stringMatching(/accepted and ignored/) }]);
  });

  it('set_lruttl_cache_capacity checks the cache name; the egress caches really resize', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.set_lruttl_cache_capacity('nope', 10)"))).toMatch(/cache "nope" does not exist/);
    await t.eval("kumo.set_lruttl_cache_capacity('dns_resolver_mx', 10) kumo.set_lruttl_cache_capacity('egress_source_sources', 1)");
    await t.load(`
      local kumo = require 'kumo'
      CALLS = 0
      kumo.on('get_egress_source', function(name) CALLS = CALLS + 1 return kumo.make_egress_source { name = name } end)
    `);
    const r = t.ctx.require(EGRESS_RESOLVER, 'test');
    await r.source('a');
    await r.source('b');
    await r.source('a');
    expect(await t.eval('return CALLS')).toBe(3);
  });

  it('type-checks the other knobs', async () => {
    const t = newLua();
    expect(await errorOf(t.eval('kumo.set_lua_gc_on_put(256)'))).toMatch(/0-255/);
    expect(await errorOf(t.eval("kumo.spawn_thread_pool { name = 'p' }"))).toMatch(/missing field `num_threads`/);
    expect(await errorOf(t.eval("kumo.set_httpinject_recipient_rate_limit('bogus')"))).toMatch(/set_httpinject_recipient_rate_limit/);
    expect(await errorOf(t.eval('kumo.enable_memory_callstack_tracking(1)'))).toMatch(/expected a boolean/);
    await t.eval('kumo.dkim.set_signing_threads(4)');
    expect(await errorOf(t.eval('kumo.dkim.set_signing_threads(4)'))).toMatch(/already configured/);
    await t.eval(`
      kumo.set_max_spare_lua_contexts(8192) kumo.set_max_lua_context_use_count(1024) kumo.set_max_lua_context_age(300)
      kumo.set_lua_gc_on_put(10) kumo.spawn_thread_pool { name = 'p', num_threads = 4 }
      kumo.set_httpinject_recipient_rate_limit('100/s') kumo.set_httpinject_recipient_rate_limit(nil)
      kumo.set_timeq_spawn_reinsertion(false) kumo.configure_accounting_db_path('/tmp/acct.db')
    `);
    expect(runtimeKnobsOf(t.ctx).accountingDbPath).toBe('/tmp/acct.db');
  });

  it('memory limits are remembered; suspend_delivery_when_spool_unhealthy reaches the engine options', async () => {
    const t = newLua();
    expect(await t.eval('return kumo.get_memory_hard_limit()')).toBeNull();
    await t.eval('kumo.set_memory_hard_limit(1073741824) kumo.suspend_delivery_when_spool_unhealthy(false)');
    expect(await t.eval('return kumo.get_memory_hard_limit()')).toBe(1073741824);
    expect(runtimeKnobsOf(t.ctx).suspendDeliveryWhenSpoolUnhealthy).toBe(false);
  });

  it('available_parallelism reads KUMO_AVAILABLE_PARALLELISM', async () => {
    const t = newLua();
    expect(await t.eval('return kumo.available_parallelism()')).toBeGreaterThan(0);
    process.env.KUMO_AVAILABLE_PARALLELISM = '3';
    expect(await t.eval('return kumo.available_parallelism()')).toBe(3);
    process.env.KUMO_AVAILABLE_PARALLELISM = 'lots';
    expect(await errorOf(t.eval('return kumo.available_parallelism()'))).toMatch(/not a number/);
  });
});

describe('README', () => {
  it('lists every ignored knob under "Differences from KumoMTA"', async () => {
    const { readFileSync } = await import('node:fs');
    const { IGNORED_KNOBS } = await import('../../src/kumo/knobs.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Differences from KumoMTA'));
    const missing = IGNORED_KNOBS.map((k) => k.replace(/^dkim\./, '')).filter((k) => !section.includes(`${k}\``));
    expect(missing).toEqual([]);
  });
});
