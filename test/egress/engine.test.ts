/**
 * Source selection inside the engine (lua-api-more.md §1.3, §1.4): pools
 * resolved at scheduled-queue creation, the source resolved before
 * get_egress_path_config, ready queues keyed `<source>-><site>@<proto>`,
 * records carrying egress_pool / egress_source.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EgressResolver, type EgressDefinitions } from '../../src/egress/resolve.ts';
import { parseEgressPool } from '../../src/egress/pool.ts';
import { parseEgressSource } from '../../src/egress/source.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import type { JsonObject } from '../../src/util/json.ts';
import { luaQueueConfig, makeMessage, makeTestEngine, until, type TestEngine } from '../helpers/engine.ts';
import type { SiteResolver } from '../../src/queue/site-resolver.ts';

let engine: TestEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

/** Definitions from plain tables, recording every call in `calls` (shared with path config calls). */
function definitions(pools: Record<string, JsonObject>, sources: string[], calls: string[]): EgressDefinitions {
  return {
    pool: async (name) => {
      calls.push(`pool:${name}`);
      if (!pools[name]) throw new Error(`unknown pool ${name}`);
      return parseEgressPool({ name, ...pools[name] });
    },
    source: async (name) => {
      calls.push(`source:${name}`);
      if (!sources.includes(name)) throw new Error(`unknown egress source ${name}`);
      return parseEgressSource({ name, source_address: '127.0.0.1', ehlo_domain: `${name}.out.test` });
    },
  };
}

async function engineWith(pools: Record<string, JsonObject>, sources: string[], egressPool: string | null, extra: { site?: SiteResolver; queue?: JsonObject } = {}) {
  const clock = new VirtualClock();
  const calls: string[] = [];
  const e = (engine = await makeTestEngine({
    clock,
    queueConfig: () => luaQueueConfig({}, { ...(egressPool ? { egress_pool: egressPool } : {}), ...extra.queue }),
    manager: {
      egress: new EgressResolver(clock, definitions(pools, sources, calls)),
      ...(extra.site ? { siteResolvers: { custom_lua: extra.site } } : {}),
      resolveEgressPathConfig: async (routing, source, site) => {
        calls.push(`path:${routing},${source},${site}`);
        return (await import('../../src/queue/egress-path-config.ts')).parseEgressPathConfig({});
      },
    },
  }));
  return { e, calls };
}

describe('egress pools in the engine', () => {
  it('no egress_pool: neither event fires; records show egress_source "unspecified" (checklist 5)', async () => {
    const { e, calls } = await engineWith({}, [], null);
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    expect(calls).toEqual(['path:example.com,unspecified,example.com']);
    expect(e.records.of('Delivery')[0]).toMatchObject({ egressPool: 'unspecified', egressSource: 'unspecified', site: 'unspecified->example.com@lua:make.webhook' });
  });

  it('resolves pool then members at queue creation, the source again before path config (checklist 11)', async () => {
    const { e, calls } = await engineWith({ warm: { entries: [{ name: 'vmta-a' }] } }, ['vmta-a'], 'warm');
    await e.manager.insert(makeMessage('r@example.com', { routing_domain: 'relay.test' }, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    expect(calls).toEqual(['pool:warm', 'source:vmta-a', 'path:relay.test,vmta-a,relay.test']);
    const rq = e.manager.ready.queues.get('vmta-a->relay.test@lua:make.webhook')!;
    expect(rq.source).toMatchObject({ name: 'vmta-a', sourceAddress: '127.0.0.1', ehloDomain: 'vmta-a.out.test' });
    expect(e.records.of('Delivery')[0]).toMatchObject({ egressPool: 'warm', egressSource: 'vmta-a', site: 'vmta-a->relay.test@lua:make.webhook' });
  });

  it('creating the ready queue resolves the source before path config: an expired source re-fires first (checklist 11)', async () => {
    let clock: VirtualClock | undefined;
    // The site lookup outlasts the source's 60 s ttl (not the pool's, nor the queue refresh interval),
    // so only the ready queue's own resolution can ask for the source again.
    const site: SiteResolver = { siteName: async (_q, routing) => (await clock!.advance(61_000), routing) };
    const { e, calls } = await engineWith({ warm: { entries: [{ name: 'vmta-a' }], ttl: '1h' } }, ['vmta-a'], 'warm', { site, queue: { refresh_interval: '1h' } });
    clock = e.clock;
    await e.manager.insert(makeMessage('r@example.com', { routing_domain: 'relay.test' }, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    expect(calls).toEqual(['pool:warm', 'source:vmta-a', 'source:vmta-a', 'path:relay.test,vmta-a,relay.test']);
  });

  it('passes the site a protocol resolver returns to path config and the ready-queue name', async () => {
    const site: SiteResolver = { siteName: async (_q, routing) => `(mx1|mx2).${routing}` };
    const { e, calls } = await engineWith({}, [], null, { site });
    await e.manager.insert(makeMessage('r@a.test', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    expect(calls).toEqual(['path:a.test,unspecified,(mx1|mx2).a.test']);
    expect(e.records.of('Delivery')[0]!.site).toBe('unspecified->(mx1|mx2).a.test@lua:make.webhook');
  });

  it('a site resolver error is a TransientFailure "failed to resolve queue" with site ""', async () => {
    const site: SiteResolver = { siteName: async () => { throw new Error('MX lookup for a.test failed: NXDOMAIN'); } };
    const { e } = await engineWith({}, [], null, { site });
    await e.manager.insert(makeMessage('r@a.test', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    expect(e.records.of('TransientFailure')[0]).toMatchObject({ site: '', egressPool: null, response: { code: 451, content: 'failed to resolve queue a.test: MX lookup for a.test failed: NXDOMAIN' } });
  });

  it('a pool naming an undefined source makes its scheduled queue unresolvable (checklist 7)', async () => {
    const { e } = await engineWith({ warm: { entries: [{ name: 'vmta-a' }, { name: 'ghost' }] } }, ['vmta-a'], 'warm');
    await expect(e.manager.insert(makeMessage('r@example.com', {}, e.clock))).rejects.toThrow(/resolving egress pool 'warm': get_egress_source 'ghost': unknown egress source ghost/);
    expect(e.records.of('Delivery')).toEqual([]);
  });

  it('only weight-0 entries: TransientFailure "no sources available" (checklist 10)', async () => {
    const { e } = await engineWith({ cold: { entries: [{ name: 'vmta-a', weight: 0 }] } }, ['vmta-a'], 'cold');
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('TransientFailure').length === 1, 'failure');
    expect(e.records.of('TransientFailure')[0]).toMatchObject({
      egressPool: 'cold', site: '',
      response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 4 }, content: 'KumoMTA internal: no sources available for example.com pool=`cold`' },
    });
  });

  it('spreads messages over the pool by weight; a health-suspended source is skipped', async () => {
    const { e } = await engineWith({ p: { entries: [{ name: 'a', weight: 2 }, { name: 'b', weight: 1 }] } }, ['a', 'b'], 'p');
    for (let i = 0; i < 6; i++) await e.manager.insert(makeMessage(`r${i}@example.com`, {}, e.clock));
    await until(() => e.records.of('Delivery').length === 6, 'deliveries');
    const bySource = (src: string) => e.records.of('Delivery').filter((r) => r.egressSource === src).length;
    expect([bySource('a'), bySource('b')]).toEqual([4, 2]);
    e.manager.egress.suspendSource('a', e.clock.now() + 60_000);
    for (let i = 0; i < 3; i++) await e.manager.insert(makeMessage(`s${i}@example.com`, {}, e.clock));
    await until(() => e.records.of('Delivery').length === 9, 'deliveries');
    expect([bySource('a'), bySource('b')]).toEqual([4, 5]);
  });
});

describe('pool refresh (lua-api-more.md §1.3, §1.4)', () => {
  it('re-resolves the pool with the queue config; a failure keeps the old selector, a change rebuilds it', async () => {
    const pools: Record<string, JsonObject> = { p: { entries: [{ name: 'a' }], ttl: 1 } };
    const { e, calls } = await engineWith(pools, ['a', 'b'], 'p');
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 1, 'delivery');
    const queue = e.manager.scheduled.get('example.com')!;
    const first = queue.selector;

    delete pools.p; // the handler now fails: the old selector stays
    await e.clock.advance(61_000);
    await until(() => calls.filter((c) => c === 'pool:p').length >= 2, 'pool refresh');
    expect(queue.selector).toBe(first);

    pools.p = { entries: [{ name: 'b' }], ttl: 1 };
    await e.clock.advance(61_000);
    await until(() => queue.selector !== first, 'selector rebuilt');
    expect(queue.selector.entries.map((x) => x.name)).toEqual(['b']);
    await e.manager.insert(makeMessage('s@example.com', {}, e.clock));
    await until(() => e.records.of('Delivery').length === 2, 'delivery via b');
    expect(e.records.of('Delivery')[1]!.egressSource).toBe('b');
  });
});

describe('a health-suspended source', () => {
  it('drains its ready queue back; with no other source the messages wait with "not eligible at this time"', async () => {
    const clock = new VirtualClock();
    const calls: string[] = [];
    const e = (engine = await makeTestEngine({
      clock,
      queueConfig: () => luaQueueConfig({ batch_size: 10, min_batch_size: 10, max_batch_latency: '1h' }, { egress_pool: 'p' }),
      pathConfig: { idle_timeout: '2h' },
      manager: { egress: new EgressResolver(clock, definitions({ p: { entries: [{ name: 'a' }] } }, ['a'], calls)) },
    }));
    await e.manager.insert(makeMessage('r1@example.com', {}, e.clock));
    await e.manager.insert(makeMessage('r2@example.com', {}, e.clock));
    const rq = e.manager.ready.queues.get('a->example.com@lua:make.webhook')!;
    await until(() => [...rq.dispatchers].some((d) => d.phase === 'AccumulatingBatch'), 'batch accumulating');
    e.manager.egress.suspendSource('a', e.clock.now() + 600_000);
    rq.notify();
    await until(() => e.records.of('TransientFailure').length === 2, 'both re-routed and refused');
    expect(e.records.of('TransientFailure')[0]).toMatchObject({
      egressPool: 'p',
      response: { code: 451, content: 'KumoMTA internal: no sources for example.com pool=`p` are eligible for selection at this time' },
    });
    expect(e.records.of('Delivery')).toEqual([]);
  });
});
