/**
 * One AMQP connection and one publishing channel, kept open across sends.
 * When the broker drops either, the next publish opens them again; the
 * publish that runs into the failure raises a transient error instead of
 * taking the process down (amqplib emits 'error' events that would
 * otherwise be unhandled).
 */
import type { Channel, ChannelModel, Options } from 'amqplib';
import { lazyRequire } from '../../util/lazy-require.ts';
import { SystemClock, type Clock } from '../../util/clock.ts';
import type { AmqpTarget } from './target.ts';

const amqplib = lazyRequire<typeof import('amqplib')>('amqplib');

export class AmqpError extends Error {
  override name = 'AmqpError';
}

/** The deadline of a connect or publish passed (lapin/tokio wording). */
export class AmqpDeadlineError extends AmqpError {
  constructor() {
    super('deadline has elapsed');
  }
}

export type Connector = (connect: Options.Connect, socket: Record<string, unknown>) => Promise<ChannelModel>;

export const amqplibConnector: Connector = (connect, socket) => amqplib().connect(connect, socket);

export interface PublishArgs {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

/** Rejects with AmqpDeadlineError when `ms` passes first (no deadline when undefined). */
export function withDeadline<T>(clock: Clock, ms: number | undefined, work: Promise<T>): Promise<T> {
  if (ms === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(ms, () => reject(new AmqpDeadlineError()));
    work.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (e) => {
        timer.cancel();
        reject(e);
      },
    );
  });
}

export class ReconnectingChannel {
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private opening: Promise<Channel> | undefined;
  private closedByUser = false;
  /** Why the last connection or channel went away, for the next error text. */
  private lastLoss: string | undefined;
  /** Connections opened so far (tests check reuse and re-establishment). */
  connectCount = 0;

  constructor(
    private readonly target: AmqpTarget,
    private readonly options: { confirm?: boolean; connector?: Connector; clock?: Clock } = {},
  ) {}

  get isOpen(): boolean {
    return this.channel !== undefined;
  }

  get label(): string {
    return this.target.label;
  }

  /** The open channel, connecting (or re-connecting) first when needed. */
  async open(): Promise<Channel> {
    if (this.closedByUser) throw new AmqpError('invalid channel state: Closed');
    if (this.channel) return this.channel;
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<Channel> {
    const clock = this.options.clock ?? new SystemClock();
    if (!this.model) {
      const connector = this.options.connector ?? amqplibConnector;
      const pending = connector(this.target.connect, { timeout: this.target.connectTimeoutMs, ...this.target.socket });
      let model: ChannelModel;
      try {
        model = await withDeadline(clock, this.target.connectTimeoutMs, pending);
      } catch (e) {
        pending.then((m) => m.close()).catch(() => undefined);
        if (e instanceof AmqpDeadlineError) throw e;
        throw new AmqpError(`cannot connect to AMQP broker at ${this.target.label}: ${describe(e)}`);
      }
      this.connectCount++;
      model.on('error', (err: Error) => {
        this.lastLoss = describe(err);
      });
      model.on('close', (err?: Error) => {
        if (this.model === model) {
          this.model = undefined;
          this.channel = undefined;
          if (err) this.lastLoss = describe(err);
        }
      });
      this.model = model;
    }
    const model = this.model;
    let channel: Channel;
    try {
      channel = this.options.confirm ? await model.createConfirmChannel() : await model.createChannel();
    } catch (e) {
      throw new AmqpError(`cannot open a channel to ${this.target.label}: ${describe(e)}`);
    }
    channel.on('error', (err: Error) => {
      this.lastLoss = describe(err);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.channel = channel;
    return channel;
  }

  /** Publishes one message; resolves once it is handed to the socket. */
  async publish(args: PublishArgs): Promise<void> {
    const channel = await this.open();
    try {
      const ok = channel.publish(args.exchange, args.routingKey, args.content, args.options);
      if (!ok) await waitForDrain(channel);
    } catch (e) {
      this.channel = undefined;
      const reason = this.lastLoss ?? describe(e);
      throw new AmqpError(`transient failure publishing to ${this.target.label}: ${reason}; the connection is re-established on the next publish`);
    }
  }

  /** Closes the channel, then the connection; a second close raises as lapin does. */
  async close(): Promise<void> {
    if (this.closedByUser) throw new AmqpError('invalid connection state: Closed');
    this.closedByUser = true;
    const { channel, model } = this;
    this.channel = undefined;
    this.model = undefined;
    await channel?.close().catch(() => undefined);
    await model?.close().catch(() => undefined);
  }

  /** Drops the connection without the user-close flag (tests, memory pressure). */
  async reset(): Promise<void> {
    const model = this.model;
    this.channel = undefined;
    this.model = undefined;
    await model?.close().catch(() => undefined);
  }
}

function waitForDrain(channel: Channel): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      channel.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      channel.off('drain', onDrain);
      reject(new Error('channel closed while waiting to write'));
    };
    channel.once('drain', onDrain);
    channel.once('close', onClose);
  });
}

export function describe(e: unknown): string {
  const err = e as { message?: string; code?: string | number; errors?: unknown[] };
  if (Array.isArray(err?.errors) && err.errors.length > 0 && !err.message) return describe(err.errors[err.errors.length - 1]);
  const message = err?.message ?? String(e);
  return err?.code && typeof err.code === 'string' && !message.includes(err.code) ? `${message} (${err.code})` : message;
}
