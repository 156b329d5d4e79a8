/**
 * kumo.amqp.basic_publish keeps one open connection per distinct
 * `connection` table (upstream pools per table value too) and reuses it
 * while it and its channel stay open.
 */
import { SystemClock, type Clock } from '../../util/clock.ts';
import { ReconnectingChannel, withDeadline, type Connector } from './channel.ts';
import type { BasicPublishRequest } from './params.ts';
import { targetFromParams } from './target.ts';

export class AmqpPublisherPool {
  private readonly channels = new Map<string, ReconnectingChannel>();

  constructor(private readonly deps: { connector?: Connector; clock?: Clock } = {}) {}

  /** Publishes without waiting for a confirm; "deadline has elapsed" after publish_timeout. */
  async publish(request: BasicPublishRequest): Promise<void> {
    const clock = this.deps.clock ?? new SystemClock();
    let channel = this.channels.get(request.poolKey);
    if (!channel) {
      channel = new ReconnectingChannel(targetFromParams(request.connection), { confirm: request.confirmSelect, connector: this.deps.connector, clock });
      this.channels.set(request.poolKey, channel);
    }
    await withDeadline(clock, request.publishTimeoutMs, channel.publish(request.publish));
  }

  /** Connections opened so far across the pool. */
  get connectCount(): number {
    let n = 0;
    for (const c of this.channels.values()) n += c.connectCount;
    return n;
  }

  /** Closes every pooled connection (shutdown, or memory pressure upstream). */
  async purge(): Promise<void> {
    const all = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(all.map((c) => c.reset()));
  }
}
