import { v4 as uuidV4 } from 'uuid';
import { parseQueueName } from '../message/queue-name.ts';

/** Admin matching criteria against scheduled-queue name components (engine.md §8.6). */
export interface QueueCriteria {
  campaign?: string | null;
  tenant?: string | null;
  domain?: string | null;
  routingDomain?: string | null;
  /** Non-empty ⇒ only these exact scheduled-queue names match; other criteria ignored. */
  queueNames?: string[];
}

export interface BounceRule {
  id: string;
  criteria: QueueCriteria;
  reason: string;
  expiresMs: number;
  suppressLogging: boolean;
  bounced: Map<string, number>;
  totalBounced: number;
}

export interface SuspendRule {
  id: string;
  criteria: QueueCriteria;
  reason: string;
  expiresMs: number;
}

export interface ReadyQueueSuspension {
  id: string;
  name: string;
  reason: string;
  expiresMs: number;
}

export function criteriaMatch(c: QueueCriteria, queueName: string): boolean {
  if (c.queueNames && c.queueNames.length > 0) return c.queueNames.includes(queueName);
  const q = parseQueueName(queueName);
  const field = (want: string | null | undefined, have: string | null) => want === undefined || want === null || (have !== null && want === have);
  return field(c.campaign, q.campaign) && field(c.tenant, q.tenant) && field(c.domain, q.domain) && field(c.routingDomain, q.routingDomain);
}

function sameCriteria(a: QueueCriteria, b: QueueCriteria): boolean {
  const names = (c: QueueCriteria) => JSON.stringify([...(c.queueNames ?? [])].sort());
  return (a.campaign ?? null) === (b.campaign ?? null) && (a.tenant ?? null) === (b.tenant ?? null) &&
    (a.domain ?? null) === (b.domain ?? null) && (a.routingDomain ?? null) === (b.routingDomain ?? null) && names(a) === names(b);
}

/** Admin bounce, scheduled-queue suspension and ready-queue suspension rules, each with an expiry. */
export class AdminRules {
  private bounces: BounceRule[] = [];
  private suspends: SuspendRule[] = [];
  private readySuspends = new Map<string, ReadyQueueSuspension>();

  addBounce(criteria: QueueCriteria, reason: string, expiresMs: number, suppressLogging = false): BounceRule {
    const rule: BounceRule = { id: uuidV4(), criteria, reason, expiresMs, suppressLogging, bounced: new Map(), totalBounced: 0 };
    this.bounces = this.bounces.filter((b) => !sameCriteria(b.criteria, criteria));
    this.bounces.push(rule);
    return rule;
  }

  listBounces(nowMs: number): BounceRule[] {
    this.bounces = this.bounces.filter((b) => b.expiresMs > nowMs);
    return [...this.bounces];
  }

  deleteBounce(id: string): boolean {
    const before = this.bounces.length;
    this.bounces = this.bounces.filter((b) => b.id !== id);
    return this.bounces.length !== before;
  }

  /** The active bounce rule for a queue, counting the bounce against it. */
  matchBounce(queueName: string, nowMs: number): BounceRule | null {
    if (this.bounces.length === 0) return null;
    for (const b of this.bounces) if (b.expiresMs > nowMs && criteriaMatch(b.criteria, queueName)) return b;
    return null;
  }

  addSuspend(criteria: QueueCriteria, reason: string, expiresMs: number): SuspendRule {
    const rule: SuspendRule = { id: uuidV4(), criteria: { ...criteria, routingDomain: null }, reason, expiresMs };
    this.suspends = this.suspends.filter((s) => !sameCriteria(s.criteria, rule.criteria));
    this.suspends.push(rule);
    return rule;
  }

  listSuspends(nowMs: number): SuspendRule[] {
    this.suspends = this.suspends.filter((s) => s.expiresMs > nowMs);
    return [...this.suspends];
  }

  deleteSuspend(id: string): boolean {
    const before = this.suspends.length;
    this.suspends = this.suspends.filter((s) => s.id !== id);
    return this.suspends.length !== before;
  }

  matchSuspend(queueName: string, nowMs: number): SuspendRule | null {
    if (this.suspends.length === 0) return null;
    for (const s of this.suspends) if (s.expiresMs > nowMs && criteriaMatch(s.criteria, queueName)) return s;
    return null;
  }

  suspendReadyQueue(name: string, reason: string, expiresMs: number): ReadyQueueSuspension {
    const entry = { id: uuidV4(), name, reason, expiresMs };
    this.readySuspends.set(name, entry);
    return entry;
  }

  listReadySuspends(nowMs: number): ReadyQueueSuspension[] {
    for (const [k, v] of this.readySuspends) if (v.expiresMs <= nowMs) this.readySuspends.delete(k);
    return [...this.readySuspends.values()];
  }

  deleteReadySuspend(id: string): boolean {
    for (const [k, v] of this.readySuspends) if (v.id === id) return this.readySuspends.delete(k);
    return false;
  }

  readyQueueSuspension(name: string, nowMs: number): ReadyQueueSuspension | null {
    const s = this.readySuspends.get(name);
    return s && s.expiresMs > nowMs ? s : null;
  }
}
