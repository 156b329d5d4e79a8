/**
 * kumo.amqp.build_client's client (the lapin flavour): one connection and one
 * plain channel; publish returns a Confirm whose wait() reports
 * 'NotRequested' because publisher confirms are never enabled (clients.md §3.1).
 */
import { SystemClock, type Clock } from '../../util/clock.ts';
import { AmqpError, ReconnectingChannel, withDeadline, type Connector, type PublishArgs } from './channel.ts';
import { targetFromUri } from './target.ts';

export interface ConfirmResult {
  status: 'Ack' | 'Nack' | 'NotRequested';
  reply_code?: number;
  reply_text?: string;
}

export class Confirm {
  private taken = false;
  constructor(private readonly result: ConfirmResult) {}

  async wait(): Promise<ConfirmResult> {
    if (this.taken) throw new AmqpError('confirmation already taken!?');
    this.taken = true;
    return { ...this.result };
  }
}

export interface AmqpClientDeps {
  connector?: Connector;
  clock?: Clock;
}

export class AmqpClient {
  private constructor(
    readonly channel: ReconnectingChannel,
    private readonly clock: Clock,
  ) {}

  /** Connects (20 s deadline) and opens the channel. */
  static async connect(uri: string, deps: AmqpClientDeps = {}): Promise<AmqpClient> {
    const clock = deps.clock ?? new SystemClock();
    const channel = new ReconnectingChannel(targetFromUri(uri), { connector: deps.connector, clock });
    await channel.open();
    return new AmqpClient(channel, clock);
  }

  async publish(args: PublishArgs): Promise<Confirm> {
    await this.channel.publish(args);
    return new Confirm({ status: 'NotRequested' });
  }

  /** Publishes and waits for the confirmation within `timeoutMs`; "deadline has elapsed" otherwise. */
  async publishWithTimeout(args: PublishArgs, timeoutMs: number): Promise<ConfirmResult> {
    return withDeadline(this.clock, timeoutMs, this.publish(args).then((c) => c.wait()));
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
