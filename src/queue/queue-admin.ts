import type { JsonObject } from '../util/json.ts';
import { formatHumantime } from '../util/duration.ts';
import type { BounceRule, QueueCriteria, ReadyQueueSuspension, SuspendRule } from './admin-rules.ts';
import { criteriaMatch } from './admin-rules.ts';
import type { QueueManager } from './manager.ts';
import { queueConfigToJson } from './queue-config.ts';
import { formatInstant } from './queue-records.ts';
import { rebindQueues, type RebindRequest } from './rebind.ts';

const DEFAULT_RULE_MS = 5 * 60_000;

/** When a rule ends: explicit expiry wins over duration; default 5 minutes. */
export interface RuleLifetime {
  durationMs?: number;
  expiresMs?: number;
}

export interface ScheduledQueueSummary {
  name: string;
  scheduledCount: number;
  lastChange: number;
}

export interface ReadyQueueSummary {
  name: string;
  service: string;
  readyCount: number;
  dispatchers: number;
  connectionLimited: { context: string; since: number } | null;
}

/** Admin operations over the engine (suspend, bounce, inspect), as the admin HTTP API needs them. */
export class QueueAdmin {
  constructor(private readonly m: QueueManager) {}

  private expiry(l: RuleLifetime): number {
    return l.expiresMs ?? this.m.clock.now() + (l.durationMs ?? DEFAULT_RULE_MS);
  }

  suspend(criteria: QueueCriteria, reason: string, lifetime: RuleLifetime = {}): SuspendRule {
    return this.m.rules.addSuspend(criteria, reason, this.expiry(lifetime));
  }

  listSuspends(): (SuspendRule & { remaining: string })[] {
    const now = this.m.clock.now();
    return this.m.rules.listSuspends(now).map((r) => ({ ...r, remaining: formatHumantime(r.expiresMs - now) }));
  }

  resume(id: string): boolean {
    return this.m.rules.deleteSuspend(id);
  }

  suspendReadyQueue(name: string, reason: string, lifetime: RuleLifetime = {}): ReadyQueueSuspension {
    const entry = this.m.rules.suspendReadyQueue(name, reason, this.expiry(lifetime));
    const rq = this.m.ready.queues.get(name);
    if (rq) {
      rq.maintain();
      rq.wakeAll('notify');
    }
    return entry;
  }

  listReadyQueueSuspensions(): ReadyQueueSuspension[] {
    return this.m.rules.listReadySuspends(this.m.clock.now());
  }

  resumeReadyQueue(id: string): boolean {
    return this.m.rules.deleteReadySuspend(id);
  }

  /**
   * Registers a bounce rule and (unless `sweep` is false, as for the Lua
   * binding) bounces every message parked in matching scheduled queues.
   */
  async bounce(criteria: QueueCriteria, reason: string, opts: RuleLifetime & { suppressLogging?: boolean; sweep?: boolean } = {}): Promise<BounceRule> {
    const rule = this.m.rules.addBounce(criteria, reason, this.expiry(opts), opts.suppressLogging ?? false);
    if (opts.sweep !== false) {
      for (const queue of this.m.scheduled.queues()) {
        if (!criteriaMatch(criteria, queue.name)) continue;
        for (const entry of queue.takeAllParked()) {
          const msg = entry.msg ?? this.m.spool.load(entry.id);
          if (!msg) continue;
          msg.numAttempts = entry.attempts;
          await this.m.adminBounce(msg, rule, queue.name);
        }
      }
    }
    return rule;
  }

  /** Admin rebind of the parked messages of matching queues (lua-api-more.md §8.4); resolves with how many were rebound. */
  rebind(criteria: QueueCriteria, req: RebindRequest): Promise<number> {
    return rebindQueues(this.m, criteria, req);
  }

  listBounces(): (BounceRule & { remaining: string })[] {
    const now = this.m.clock.now();
    return this.m.rules.listBounces(now).map((r) => ({ ...r, remaining: formatHumantime(r.expiresMs - now) }));
  }

  deleteBounce(id: string): boolean {
    return this.m.rules.deleteBounce(id);
  }

  scheduledQueues(): ScheduledQueueSummary[] {
    return this.m.scheduled.queues().map((q) => ({ name: q.name, scheduledCount: q.scheduledCount, lastChange: q.lastChange }));
  }

  readyQueues(): ReadyQueueSummary[] {
    return [...this.m.ready.queues.values()].map((rq) => ({
      name: rq.name, service: rq.service, readyCount: rq.readyCount, dispatchers: rq.dispatchers.size, connectionLimited: rq.connectionLimited,
    }));
  }

  /** `GET /api/admin/inspect-sched-q/v1` body, or null when the queue is not known. */
  inspectScheduledQueue(name: string, opts: { wantBody?: boolean; limit?: number } = {}): JsonObject | null {
    const queue = this.m.scheduled.get(name);
    if (!queue) return null;
    const now = this.m.clock.now();
    const messages: JsonObject[] = [];
    const limit = opts.limit ?? Infinity;
    for (const entry of queue.parked) {
      if (messages.length >= limit) break;
      const msg = entry.msg ?? this.m.spool.load(entry.id);
      if (!msg) continue;
      const body: JsonObject = {
        sender: msg.sender,
        recipient: msg.recipients.length === 1 ? msg.recipients[0]! : [...msg.recipients],
        meta: msg.metaObject(),
        data: opts.wantBody ? Buffer.from(msg.getData()).toString('utf8') : null,
        due: formatInstant(entry.due),
        num_attempts: entry.attempts,
      };
      if (msg.scheduling) body.scheduling = { ...msg.scheduling };
      messages.push({ id: entry.id, message: body });
      if (!entry.msg) msg.shrink();
    }
    return {
      queue_name: name,
      messages,
      num_scheduled: queue.scheduledCount,
      queue_config: queueConfigToJson(queue.config),
      delayed_metric: queue.scheduledCount,
      now: formatInstant(now),
      last_changed: formatInstant(queue.lastChange),
    };
  }

  /** `GET /api/admin/ready-q-states/v1` body (only queues with a state). */
  readyQueueStates(): JsonObject {
    const states: JsonObject = {};
    for (const rq of this.m.ready.queues.values()) {
      if (rq.connectionLimited) {
        states[rq.name] = { connection_limited: { context: rq.connectionLimited.context, since: formatInstant(rq.connectionLimited.since) } };
      }
    }
    return { states_by_ready_queue: states };
  }

  // ---- metric getters (plain values for a later Prometheus layer) ----------

  scheduledCount(queue: string): number {
    return this.m.scheduled.get(queue)?.scheduledCount ?? 0;
  }

  scheduledCountTotal(): number {
    return this.m.scheduler.size;
  }

  scheduledQueueCount(): number {
    return this.m.scheduled.slotCount;
  }

  /** ready_count{service="lua:<rq>"}. */
  readyCount(readyQueue: string): number {
    return this.m.ready.queues.get(readyQueue)?.readyCount ?? 0;
  }
}
