import type { Message } from '../message/message.ts';
import type { EgressPathConfig } from './egress-path-config.ts';
import type { EgressPool } from './engine-context.ts';
import { InsertContext } from './insert-context.ts';
import type { CustomLuaProtocol, SmtpProtocol } from './queue-config.ts';
import { resolveRoute, type SmtpRoute } from '../delivery/smtp/mx-plan.ts';
import { ENH_4_4_4, response } from './queue-records.ts';
import { ReadyQueue, readyQueueName, type ReadyProtocol } from './ready-queue.ts';
import type { QueueEngine, ReadyInsertResult, ScheduledQueue } from './scheduled-queue.ts';

export type EgressPathResolver = (routingDomain: string, egressSource: string, siteName: string) => Promise<EgressPathConfig>;

const UNSPECIFIED_POOL: EgressPool = { name: 'unspecified', entries: [{ name: 'unspecified', weight: 1 }] };

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** LVS weighted round robin over a pool's sources (engine.md §1.7), state kept per scheduled queue. */
class WeightedRoundRobin {
  private index = -1;
  private currentWeight = 0;

  pick(entries: { name: string; weight: number }[]): string {
    if (entries.length === 1) return entries[0]!.name;
    const maxWeight = Math.max(...entries.map((e) => e.weight));
    const step = entries.map((e) => e.weight).reduce(gcd);
    for (let guard = 0; guard < 10_000; guard++) {
      this.index = (this.index + 1) % entries.length;
      if (this.index === 0) {
        this.currentWeight -= step;
        if (this.currentWeight <= 0) this.currentWeight = maxWeight;
      }
      if (entries[this.index]!.weight >= this.currentWeight) return entries[this.index]!.name;
    }
    return entries[0]!.name;
  }
}

/**
 * Ready queues by name, created on first insertion through
 * get_egress_path_config, and the source-selection step that moves a message
 * from a scheduled queue into one (engine.md §1.7, §1.9).
 */
export class ReadyQueueRegistry {
  readonly queues = new Map<string, ReadyQueue>();
  private creating = new Map<string, Promise<ReadyQueue>>();
  private selectors = new WeakMap<ScheduledQueue, WeightedRoundRobin>();
  /** The ready-queue-name cache of smtp routes (smtp-delivery.md §1.3): answers and failures live 60 s. */
  private routes = new Map<string, { until: number; route: Promise<SmtpRoute> }>();

  constructor(
    private readonly engine: QueueEngine,
    private readonly resolver: EgressPathResolver,
    private readonly backToScheduled: (msg: Message, ctx: InsertContext) => Promise<void>,
  ) {}

  private async getOrCreate(name: string, site: string, source: string, pool: string, protocol: ReadyProtocol, routingDomain: string): Promise<ReadyQueue> {
    const existing = this.queues.get(name);
    if (existing) return existing;
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.resolver(routingDomain, source, site).then((path) => {
        const rq = new ReadyQueue(name, site, source, pool, protocol, path, this.engine, this.backToScheduled);
        this.queues.set(name, rq);
        return rq;
      });
      this.creating.set(name, pending);
      pending.finally(() => this.creating.delete(name)).catch(() => {});
    }
    return pending;
  }

  private async poolFor(queue: ScheduledQueue): Promise<EgressPool> {
    const name = queue.config.egressPool;
    if (name === null || name === 'unspecified') return UNSPECIFIED_POOL;
    if (!this.engine.hooks.resolveEgressPool) throw new Error(`egress pool ${name} is not defined (no get_egress_pool handler)`);
    return this.engine.hooks.resolveEgressPool(name);
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
    const routingDomain = queue.components.routingDomain ?? queue.components.domain;
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
      site = routingDomain;
    }
    let pool: EgressPool;
    try {
      pool = await this.poolFor(queue);
    } catch (err) {
      return this.fail(queue, msg, `KumoMTA internal: ${queue.name} error while inserting into ready queue: ${(err as Error).message}`, queue.config.egressPool);
    }
    let candidates = pool.entries.filter((s) => s.weight > 0);
    let anyFull = false;
    let delayed = false;
    const now = e.clock.now();
    candidates = candidates.filter((s) => {
      const suspended = e.rules.readyQueueSuspension(readyQueueName(s.name, site, protocol), now) !== null;
      if (suspended) delayed = true;
      return !suspended;
    });
    let selector = this.selectors.get(queue);
    if (!selector) this.selectors.set(queue, (selector = new WeightedRoundRobin()));
    while (candidates.length > 0) {
      const source = selector.pick(candidates);
      const name = readyQueueName(source, site, protocol);
      let rq: ReadyQueue;
      try {
        rq = await this.getOrCreate(name, site, source, pool.name, protocol, routingDomain);
      } catch (err) {
        const r = response(451, ENH_4_4_4, `failed to resolve queue ${name}: ${(err as Error).message}`);
        await e.log({ type: 'TransientFailure', message: msg, response: r, site: '', egressPool: null });
        return { kind: 'failed', response: r, logged: true };
      }
      candidates = candidates.filter((c) => c.name !== source);
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
      const due = rq.pathConfig.refreshStrategy === 'Epoch' ? epochOf.get(rq) !== epoch : now >= rq.lastPathRefresh + rq.pathConfig.refreshIntervalMs;
      if (due) {
        try {
          const routing = rq.feeders.values().next().value?.components;
          const routingDomain = routing ? routing.routingDomain ?? routing.domain : rq.siteName;
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
