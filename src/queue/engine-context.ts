import type { Message } from '../message/message.ts';
import type { RecordEvent, RecordResponse } from '../records/types.ts';
import type { Clock } from '../util/clock.ts';
import type { SqliteSpool } from '../spool/sqlite-spool.ts';
import type { ConnectionFactory } from '../delivery/types.ts';
import type { SmtpServices } from '../delivery/smtp/ports.ts';
import type { AdminRules, BounceRule } from './admin-rules.ts';
import type { InsertContext } from './insert-context.ts';
import type { EngineMetrics } from './metrics.ts';
import type { Throttles } from './throttle.ts';
import type { LeaseRegistry } from './leases.ts';
import type { EgressResolver } from '../egress/resolve.ts';

/** How a "put back after trouble" should proceed (engine.md §3.6). */
export interface RequeueRequest {
  increment: boolean;
  delayMs: number | null;
  context: InsertContext;
  response: RecordResponse;
}

/** Optional policy events the engine fires; the Lua wiring supplies them. */
export interface EngineHooks {
  /** `requeue_message`; return `{ reject }` when the handler called kumo.reject. */
  requeueMessage?(msg: Message, responseLine: string, context: string[], incrementAttempts: boolean, delayMs: number | null): Promise<void | { reject: { code: number; text: string } }>;
  /** `throttle_insert_ready_queue`; may move `msg.due` into the future. */
  throttleInsertReadyQueue?(msg: Message): Promise<void>;
  /** `rebind_message(msg, data)` (admin rebind); resolves false when no handler is registered. */
  rebindMessage?(msg: Message, data: Record<string, string>): Promise<boolean>;
  /** `spool_message_enumerated`. */
  spoolMessageEnumerated?(msg: Message): Promise<void>;
  /** Renders a maildir_path template; defaults to minijinja. */
  renderTemplate?(template: string, vars: Record<string, unknown>): string;
  /** Diagnostic log line (errors the engine swallows). */
  diagnostic?(text: string): void;
}

/** What scheduled queues, ready queues and dispatchers share. */
export interface EngineContext {
  readonly clock: Clock;
  readonly spool: SqliteSpool;
  readonly random: () => number;
  readonly rules: AdminRules;
  readonly metrics: EngineMetrics;
  readonly throttles: Throttles;
  readonly leases: LeaseRegistry;
  readonly connections: ConnectionFactory;
  /** MX resolution, egress sources, classifier and rewrite event for the smtp protocol. */
  readonly smtp: SmtpServices;
  readonly hooks: EngineHooks;
  /** Egress sources and pools (get_egress_source / get_egress_pool, cached) and source health. */
  readonly egress: EgressResolver;
  readonly shutdownSignal: AbortSignal;
  isShuttingDown(): boolean;
  /** Null when healthy or when delivery is not suspended for an unhealthy spool. */
  spoolUnhealthyReason(): string | null;
  log(event: RecordEvent): Promise<void>;
  diag(text: string): void;
  /** The §3.6 requeue procedure (requeue_message event, queue change, backoff, expiry). */
  requeue(msg: Message, req: RequeueRequest): Promise<void>;
  /** Saves dirty parts and state, then forgets the message (it stays in the spool). */
  saveAndDrop(msg: Message): Promise<void>;
  /** AdminBounce record (unless suppressed), counters, spool delete. */
  adminBounce(msg: Message, rule: BounceRule, queueName: string): Promise<void>;
  /** Logs nothing; deletes the message from the spool. */
  remove(msg: Message): Promise<void>;
}
