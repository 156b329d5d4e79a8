/**
 * The bulk outcomes of a plan that cannot be used (smtp-delivery.md §1.8,
 * §4.7): every queued message gets the same record and fate.
 */
import type { Message } from '../../message/message.ts';
import type { RecordEvent, RecordResponse, RecordType } from '../../records/types.ts';
import type { EngineContext } from '../../queue/engine-context.ts';
import { InsertContext, type InsertReason } from '../../queue/insert-context.ts';
import type { PlanResult } from './mx-plan.ts';
import type { SmtpPathOptions } from './path-options.ts';
import { ALL_SKIPPED, ENH, NO_HOSTS, NULL_MX, prohibited, synthesized } from './responses.ts';

export type PlanFailure = Exclude<PlanResult, { kind: 'plan' }> | { kind: 'lookup-error'; text: string };

export interface BulkContext {
  engine: EngineContext;
  record(type: RecordType, msg: Message, r: RecordResponse): RecordEvent;
  count(type: RecordType, recipients: number): void;
}

function outcome(f: PlanFailure, opts: SmtpPathOptions): { type: RecordType; response: RecordResponse; reason: InsertReason } {
  switch (f.kind) {
    case 'null-mx': return { type: 'Bounce', response: NULL_MX, reason: 'FailedDueToNullMx' };
    case 'no-hosts': return { type: 'TransientFailure', response: NO_HOSTS, reason: 'MxResolvedToZeroHosts' };
    case 'prohibited': return { type: 'Bounce', response: prohibited(f.address, opts.prohibitedHosts.render()), reason: 'MxWasProhibited' };
    case 'skipped': return { type: 'TransientFailure', response: ALL_SKIPPED, reason: 'MxWasSkipped' };
    case 'lookup-error': return { type: 'TransientFailure', response: synthesized(451, ENH(4, 4, 4), `KumoMTA internal: resolving mx_list hosts failed: ${f.text}`), reason: 'MxResolvedToZeroHosts' };
  }
}

export async function recordPlanFailure(f: PlanFailure, messages: Message[], opts: SmtpPathOptions, ctx: BulkContext): Promise<void> {
  const e = ctx.engine;
  const { type, response, reason } = outcome(f, opts);
  for (const msg of messages) {
    await e.log(ctx.record(type, msg, response));
    ctx.count(type, msg.recipients.length);
    if (type === 'Bounce') {
      e.metrics.failedByQueue.inc(msg.queueName());
      await e.remove(msg);
    } else {
      await e.requeue(msg, { increment: true, delayMs: null, context: new InsertContext([reason, 'LoggedTransientFailure']), response });
    }
  }
}
