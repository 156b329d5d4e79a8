/**
 * The AdminOps port (src/server/ports.ts) over the queue engine: the HTTP
 * admin API validates requests and shapes KumoMTA's JSON; this file only
 * translates between the port's vocabulary and the engine's.
 */
import type { Message } from '../message/message.ts';
import type { QueueCriteria } from '../queue/admin-rules.ts';
import type { ParkedEntry } from '../queue/due-scheduler.ts';
import type { QueueManager } from '../queue/manager.ts';
import { queueConfigToJson } from '../queue/queue-config.ts';
import type { ScheduledQueue } from '../queue/scheduled-queue.ts';
import type {
  AdminBounceEntry, AdminCriteria, AdminOps, AdminSuspendEntry, ReadyQueueState, ReadyQueueSuspendEntry, ScheduledQueueInspection,
} from '../server/ports.ts';

/** A fresh copy (the engine keeps its criteria by reference in a rule; the admin side must not share it). */
function copyCriteria(c: AdminCriteria | QueueCriteria): QueueCriteria & AdminCriteria {
  return {
    campaign: c.campaign ?? null,
    tenant: c.tenant ?? null,
    domain: c.domain ?? null,
    routingDomain: c.routingDomain ?? null,
    queueNames: [...(c.queueNames ?? [])],
  };
}

/**
 * The Message of a parked entry: the one kept in memory, or a (shrunk) copy
 * from the spool carrying the entry's due time and attempts, which are newer
 * than anything persisted.
 */
function parkedMessage(manager: QueueManager, entry: ParkedEntry<ScheduledQueue>): Message | null {
  if (entry.msg) return entry.msg;
  const msg = manager.spool.load(entry.id);
  if (!msg) return null;
  msg.due = entry.due;
  msg.numAttempts = entry.attempts;
  return msg;
}

function findParked(manager: QueueManager, id: string): ParkedEntry<ScheduledQueue> | null {
  for (const queue of manager.scheduled.queues()) {
    for (const entry of queue.parked) if (entry.id === id) return entry;
  }
  return null;
}

class QueueManagerAdminOps implements AdminOps {
  constructor(private readonly m: QueueManager) {}

  private now(): number {
    return this.m.clock.now();
  }

  addBounce(rule: { criteria: AdminCriteria; reason: string; expiresMs: number; suppressLogging: boolean; sweep?: boolean }): { id: string } {
    const criteria = copyCriteria(rule.criteria);
    // QueueAdmin.bounce stores the rule before its first await and then sweeps
    // asynchronously; the HTTP reply must not wait for the sweep (engine.md §8.6).
    const sweep = this.m.admin.bounce(criteria, rule.reason, { expiresMs: rule.expiresMs, suppressLogging: rule.suppressLogging, sweep: rule.sweep });
    sweep.catch((err: unknown) => this.m.diag(`admin bounce sweep (${rule.reason}) failed: ${(err as Error).message}`));
    // Identify the stored rule by its criteria object; -Infinity keeps an already-expired rule visible.
    const stored = this.m.rules.listBounces(-Infinity).find((b) => b.criteria === criteria);
    if (!stored) throw new Error('the queue engine did not store the bounce rule');
    return { id: stored.id };
  }

  listBounces(): AdminBounceEntry[] {
    return this.m.rules.listBounces(this.now()).map((b) => ({
      id: b.id, criteria: copyCriteria(b.criteria), reason: b.reason, expiresMs: b.expiresMs,
      bounced: new Map(b.bounced), totalBounced: b.totalBounced,
    }));
  }

  deleteBounce(id: string): boolean {
    return this.m.admin.deleteBounce(id);
  }

  addSuspend(rule: { criteria: AdminCriteria; reason: string; expiresMs: number }): { id: string } {
    return { id: this.m.admin.suspend(copyCriteria(rule.criteria), rule.reason, { expiresMs: rule.expiresMs }).id };
  }

  listSuspends(): AdminSuspendEntry[] {
    return this.m.rules.listSuspends(this.now()).map((s) => ({ id: s.id, criteria: copyCriteria(s.criteria), reason: s.reason, expiresMs: s.expiresMs }));
  }

  deleteSuspend(id: string): boolean {
    return this.m.admin.resume(id);
  }

  suspendReadyQueue(rule: { name: string; reason: string; expiresMs: number }): { id: string } {
    return { id: this.m.admin.suspendReadyQueue(rule.name, rule.reason, { expiresMs: rule.expiresMs }).id };
  }

  listReadyQueueSuspensions(): ReadyQueueSuspendEntry[] {
    return this.m.admin.listReadyQueueSuspensions().map((s) => ({ id: s.id, name: s.name, reason: s.reason, expiresMs: s.expiresMs }));
  }

  deleteReadyQueueSuspension(id: string): boolean {
    return this.m.admin.resumeReadyQueue(id);
  }

  rebind(req: { criteria: AdminCriteria; reason: string; data: Record<string, string>; alwaysFlush: boolean; suppressLogging: boolean; triggerRebindEvent: boolean }): Promise<number> {
    const { criteria, ...rest } = req;
    return this.m.admin.rebind(copyCriteria(criteria), rest);
  }

  inspectScheduledQueue(name: string, limit: number | null): ScheduledQueueInspection | null {
    const queue = this.m.scheduled.get(name);
    if (!queue) return null;
    const max = limit ?? Infinity;
    const messages: Message[] = [];
    // Set order = parking order; entries whose message left the spool meanwhile are skipped.
    for (const entry of queue.parked) {
      if (messages.length >= max) break;
      const msg = parkedMessage(this.m, entry);
      if (msg) messages.push(msg);
    }
    return {
      messages,
      numScheduled: queue.scheduledCount,
      queueConfig: queueConfigToJson(queue.config),
      delayedMetric: queue.scheduledCount,
      lastChangedMs: queue.lastChange,
    };
  }

  readyQueueStates(): Map<string, Record<string, ReadyQueueState>> {
    const out = new Map<string, Record<string, ReadyQueueState>>();
    for (const rq of this.m.ready.queues.values()) {
      const limited = rq.connectionLimited;
      if (limited) out.set(rq.name, { connection_limited: { context: limited.context, sinceMs: limited.since } });
    }
    return out;
  }

  async inspectMessage(id: string): Promise<Message | null> {
    const entry = findParked(this.m, id);
    if (entry) return parkedMessage(this.m, entry);
    // Ready-queue and in-flight messages are not reachable from outside the engine; the spool has them too.
    return this.m.spool.load(id);
  }
}

/** The admin API's view of `manager` (provide it as ADMIN_OPS). */
export function adminOpsFor(manager: QueueManager): AdminOps {
  return new QueueManagerAdminOps(manager);
}
