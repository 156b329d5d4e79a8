/** Why a message is being (re)inserted (engine.md §3.7); shown in Delayed records. */
export type InsertReason =
  | 'Received' | 'Enumerated' | 'ScheduledForLater' | 'ReadyQueueWasSuspended' | 'MessageRateThrottle'
  | 'ThrottledByThrottleInsertReadyQueue' | 'ReadyQueueWasFull' | 'FailedToInsertIntoReadyQueue'
  | 'MessageGetQueueNameFailed' | 'AdminRebind' | 'DueTimeWasReached' | 'MaxReadyWasReducedByConfigUpdate'
  | 'ReadyQueueWasDelayedDueToLowMemory' | 'FailedDueToNullMx' | 'MxResolvedToZeroHosts' | 'MxWasProhibited'
  | 'MxWasSkipped' | 'TooManyConnectionFailures' | 'TooManyRecipients' | 'ConnectionRateThrottle'
  | 'LoggedTransientFailure' | 'ReadyQueueWasReaped' | 'DispatcherDrop' | 'PeerClosedConnection'
  | 'ProtocolChanged' | 'SpoolUnhealthy' | 'SourceIsUnhealthyAndSuspended';

/** An ordered list of reasons; adding the reason already at the end is a no-op. */
export class InsertContext {
  readonly reasons: InsertReason[];

  constructor(reasons: readonly InsertReason[] = []) {
    this.reasons = [];
    for (const r of reasons) this.add(r);
  }

  add(reason: InsertReason): this {
    if (this.reasons[this.reasons.length - 1] !== reason) this.reasons.push(reason);
    return this;
  }

  with(reason: InsertReason): InsertContext {
    return new InsertContext(this.reasons).add(reason);
  }

  has(reason: InsertReason): boolean {
    return this.reasons.includes(reason);
  }

  isOnly(reason: InsertReason): boolean {
    return this.reasons.length === 1 && this.reasons[0] === reason;
  }

  toString(): string {
    return this.reasons.join(', ');
  }
}
