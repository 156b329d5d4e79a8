import type { Message } from '../message/message.ts';
import type { EgressPathConfig } from './egress-path-config.ts';
import { InsertContext } from './insert-context.ts';
import type { CustomLuaProtocol, SmtpProtocol } from './queue-config.ts';
import { resolveRoute, type SmtpRoute } from '../delivery/smtp/mx-plan.ts';
import { ENH_4_4_4, response } from './queue-records.ts';
import { ReadyQueue, readyQueueName, type ReadyProtocol } from './ready-queue.ts';
import type { QueueEngine, ReadyInsertResult, ScheduledQueue } from './scheduled-queue.ts';
import { ROUTING_DOMAIN_SITE, routingDomainOf, type SiteResolvers } from './site-resolver.ts';
import type { PoolEntry } from '../egress/pool.ts';

export type EgressPathResolver = (routingDomain: string, egressSource: string, siteName: string) => Promise<EgressPathConfig>;

/**
 * Ready queues by name, created on first insertion (get_egress_source, then
 * get_egress_path_config), and the source-selection step that moves a
 * message from a scheduled queue into one (engine.md §1.7, §1.9;
 * lua-api-more.md §1.4).
 */
export class ReadyQueueRegistry {
  readonly queues = new Map<string, ReadyQueue>();
  private creating = new Map<string, Promise<ReadyQueue>>();
  /** The ready-queue-name cache of smtp routes (smtp-delivery.md §1.3): answers and failures live 60 s. */
  private routes = new Map<string, { until: number; route: Promise<SmtpRoute> }>();

  constructor(
    private readonly engine: QueueEngine,
    private readonly resolver: EgressPathResolver,
    private readonly backToScheduled: (msg: Message, ctx: InsertContext) => Promise<void>,
    private readonly sites: SiteResolvers = {},
  ) {}

  private async getOrCreate(name: string, site: string, source: string, pool: string, protocol: ReadyProtocol, routingDomain: string): Promise<ReadyQueue> {
    const existing = this.queues.get(name);
    if (existing) return existing;
    let pending = this.creating.get(name);
    if (!pending) {
      pending = (async () => {
        const definition = await this.engine.egress.source(source);
        const path = await this.resolver(routingDomain, source, site);
        const rq = new ReadyQueue(name, site, source, pool, protocol, path, this.engine, this.backToScheduled);
        rq.source = definition;
        this.queues.set(name, rq);
        return rq;
      })();
      this.creating.set(name, pending);
      pending.finally(() => this.creating.delete(name)).catch(() => {});
    }
    return pending;
  }

  private routeFor(protocol: SmtpProtocol, routingName: string): Promise<SmtpRoute> {
    const key = `${routingName}\0${JSON.stringify(protocol.options)}`;
    const now = this.engine.clock.now();
    const cached = this.routes.get(key);
    if (cached && cached.until > now) return cached.route;
    const route = resolveRoute(protocol, routingName, this.engine.smtp.resolver);
    this.routes.set(key, { until: now + 60_000, route });
    if (this.routes.size > 10_000) for (const [k, v] of this.routes) if (v.until <= now) this.routes.delete(k);
    return route;
  }

  async insert(queue: ScheduledQueue, msg: Message): Promise<ReadyInsertResult> {
    const e = this.engine;
    const configured = queue.config.protocol;
    if (configured.kind !== 'custom_lua' && configured.kind !== 'smtp') {
      return this.fail(queue, msg, `KumoMTA internal: ${queue.name} error while inserting into ready queue: protocol ${configured.kind} is not supported by kumo-lua`, null);
    }
    const routingDomain = routingDomainOf(queue);
    let protocol: ReadyProtocol;
    let site: string;
    if (configured.kind === 'smtp') {
      try {
        const route = await this.routeFor(configured, routingDomain);
        protocol = { ...configured, route };
        site = route.siteName;
      } catch (err) {
        const r = response(451, ENH_4_4_4, `failed to resolve queue ${queue.name}: ${(err as Error).message}`);
        await e.log({ type: 'TransientFailure', message: msg, response: r, site: '', egressPool: null, deliveryProtocol: null });
        return { kind: 'failed', response: r, logged: true };
      }
    } else {
      protocol = configured;
      try {
        site = await (this.sites[configured.kind] ?? ROUTING_DOMAIN_SITE).siteName(queue, routingDomain);
      } catch (err) {
        const r = response(451, ENH_4_4_4, `failed to resolve queue ${queue.name}: ${(err as Error).message}`);
        await e.log({ type: 'TransientFailure', message: msg, response: r, site: '', egressPool: null });
        return { kind: 'failed', response: r, logged: true };
      }
    }
    const pool = queue.selector.pool;
    let anyFull = false;
    let delayed = false;
    const now = e.clock.now();
    // Health-suspended sources and admin-suspended ready queues are skipped (§1.4 candidates).
    let candidates: PoolEntry[] = queue.selector.entries.filter((s) => {
      const suspended = e.egress.sourceSuspension(s.name, now) !== null || e.rules.readyQueueSuspension(readyQueueName(s.name, site, protocol), now) !== null;
      if (suspended) delayed = true;
      return !suspended;
    });
    const selector = queue.selector;
    for (;;) {
      const picked = selector.pick(candidates);
      if (!picked) break;
      const source = picked.name;
      const name = readyQueueName(source, site, protocol);
      let rq: ReadyQueue;
      try {
        rq = await this.getOrCreate(name, site, source, pool.name, protocol, routingDomain);
      } catch (err) {
        const r = response(451, ENH_4_4_4, `failed to resolve queue ${name}: ${(err as Error).message}`);
        await e.log({ type: 'TransientFailure', message: msg, response: r, site: '', egressPool: null });
        return { kind: 'failed', response: r, logged: true };
      }
      candidates = candidates.filter((c) => c !== picked);
      if (!rq.tryReserve()) {
        anyFull = true;
        continue;
      }
      const rates = [
        ...(rq.pathConfig.sourceSelectionRate ? [[`kumomta.source_selection_rate.${name}.${source}`, rq.pathConfig.sourceSelectionRate] as const] : []),
        ...Object.entries(rq.pathConfig.additionalSourceSelectionRates),
      ];
      if (rates.some(([key, spec]) => e.throttles.check(key, spec).retryAfterMs !== null)) {
        rq.cancelReservation();
        delayed = true;
        continue;
      }
      rq.feeders.add(queue);
      rq.redeem(msg);
      return { kind: 'ok' };
    }
    if (anyFull) return { kind: 'full' };
    const text = delayed
      ? `KumoMTA internal: no sources for ${queue.name} pool=\`${pool.name}\` are eligible for selection at this time`
      : `KumoMTA internal: no sources available for ${queue.name} pool=\`${pool.name}\``;
    return this.fail(queue, msg, text, pool.name);
  }

  private async fail(queue: ScheduledQueue, msg: Message, text: string, pool: string | null): Promise<ReadyInsertResult> {
    const r = response(451, ENH_4_4_4, text);
    await this.engine.log({ type: 'TransientFailure', message: msg, response: r, site: '', egressPool: pool });
    void queue;
    return { kind: 'failed', response: r, logged: true };
  }

  /** The 10 s pass: path-config refresh (TTL/epoch), max_ready shrink, protocol change, reaping. */
  async maintain(epoch: number, epochOf: WeakMap<ReadyQueue, number>): Promise<void> {
    const e = this.engine;
    const now = e.clock.now();
    for (const rq of [...this.queues.values()]) {
      let protocolChanged = false;
      for (const q of [...rq.feeders]) {
        const p = q.config.protocol;
        const same = p.kind === 'custom_lua' ? readyQueueName(rq.egressSource, rq.siteName, p) === rq.name
          : p.kind === 'smtp' && rq.protocol.kind === 'smtp' && JSON.stringify(p.options) === JSON.stringify(rq.protocol.options);
        if (!same) {
          rq.feeders.delete(q);
          protocolChanged = true;
        }
      }
      if (protocolChanged && rq.feeders.size === 0) await rq.drainToScheduled('ProtocolChanged');
      // A queue first seen here was configured under the current epoch.
      if (!epochOf.has(rq)) epochOf.set(rq, epoch);
      const due = rq.pathConfig.refreshStrategy === 'Epoch' ? epochOf.get(rq) !== epoch : now >= rq.lastPathRefresh + rq.pathConfig.refreshIntervalMs;
      if (due) {
        try {
          const routing = rq.feeders.values().next().value?.components;
          const routingDomain = routing ? routing.routingDomain ?? routing.domain : rq.siteName;
          rq.source = await e.egress.source(rq.egressSource);
          const fresh = await this.resolver(routingDomain, rq.egressSource, rq.siteName);
          const excess = rq.readyCount - fresh.maxReady;
          rq.pathConfig = fresh;
          if (excess > 0) for (const m of rq.evictFromTail(excess)) await this.backToScheduled(m, new InsertContext(['MaxReadyWasReducedByConfigUpdate']));
        } catch (err) {
          e.diag(`refreshing egress path config of ${rq.name} failed, keeping the previous one: ${(err as Error).message}`);
        }
        rq.lastPathRefresh = e.clock.now();
        epochOf.set(rq, epoch);
      }
      rq.maintain();
      if (rq.isReapable(e.clock.now())) {
        rq.stopTimers();
        this.queues.delete(rq.name);
      }
    }
  }
}
