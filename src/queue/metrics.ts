import { HistogramFamily } from '../server/metrics/families.ts';

/** A counter or gauge family keyed by one label value. */
export class LabeledCounter {
  private values = new Map<string, number>();

  inc(label: string, by = 1): void {
    this.values.set(label, (this.values.get(label) ?? 0) + by);
  }

  dec(label: string, by = 1): void {
    this.inc(label, -by);
  }

  get(label: string): number {
    return this.values.get(label) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.values.entries()];
  }

  delete(label: string): void {
    this.values.delete(label);
  }
}

/**
 * Engine counters named after KumoMTA's metrics (engine.md §10), as plain
 * values for a later Prometheus layer. `service` labels are
 * `<proto>:<ready queue>`; each is also rolled up under the bare protocol.
 */
export class EngineMetrics {
  readonly totalMessagesDelivered = new LabeledCounter();
  readonly totalMessagesTransfail = new LabeledCounter();
  readonly totalMessagesFail = new LabeledCounter();
  readonly deliveredByProvider = new LabeledCounter();
  readonly transfailByProvider = new LabeledCounter();
  readonly failByProvider = new LabeledCounter();
  readonly connectionCount = new LabeledCounter();
  readonly totalConnectionCount = new LabeledCounter();
  readonly readyFull = new LabeledCounter();
  readonly dispatcherWatchdogAborted = new LabeledCounter();
  readonly delayedDueToReadyQueueFull = new LabeledCounter();
  readonly delayedDueToMessageRateThrottle = new LabeledCounter();
  readonly delayedDueToThrottleInsertReady = new LabeledCounter();
  /** Per scheduled queue: messages finally delivered / failed (Bounce, Expiration, AdminBounce). */
  readonly deliveredByQueue = new LabeledCounter();
  readonly failedByQueue = new LabeledCounter();
  totalReadyqRuns = 0;
  /** Seconds per deliver call (one SMTP message incl. its transactions), by `smtp_client` and `smtp_client:<ready queue>`. */
  readonly deliverLatency = new HistogramFamily('deliver_message_latency_rollup', 'time taken to deliver a message, including throttle sleeps, by service');

  /** Increments a service-labelled family under `proto:<rq>` and under `proto`. */
  incService(family: LabeledCounter, proto: string, readyQueue: string, by = 1): void {
    family.inc(`${proto}:${readyQueue}`, by);
    family.inc(proto, by);
  }
}
