/**
 * A local RabbitMQ for the kumo.amqp tests: AMQP_URL (default
 * amqp://guest:guest@127.0.0.1:5672/). `.ci/rabbitmq.sh` installs and starts one.
 *
 *   const available = await rabbitAvailable();
 *   describe.skipIf(skipRabbit(available))('...', () => { ... });   // runs (and fails) when CI is set
 *   const q = await RabbitQueue.create();     // exclusive server-named queue
 *   ... publish with routing_key = q.name ...
 *   const msg = await q.next();               // content Buffer + properties
 *   await q.close();
 */
import net from 'node:net';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

/** host:port of AMQP_URL. */
export function rabbitAddress(): { host: string; port: number } {
  const url = new URL(AMQP_URL);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 5672) };
}

/** True when a broker answers the AMQP handshake at AMQP_URL within `timeoutMs`. */
export async function rabbitAvailable(timeoutMs = 3000): Promise<boolean> {
  const { host, port } = rabbitAddress();
  const open = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
  if (!open) return false;
  try {
    const model = await amqplib.connect(AMQP_URL, { timeout: timeoutMs });
    await model.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether RabbitMQ tests should be skipped: only when the broker is
 * unreachable and CI is not set (in CI a missing broker must fail the run).
 */
export function skipRabbit(available: boolean): boolean {
  if (available) return false;
  if (process.env.CI) return false;
  console.warn(`RabbitMQ is not reachable at ${AMQP_URL}: skipping the AMQP round-trip tests (run .ci/rabbitmq.sh, or set AMQP_URL)`);
  return true;
}

/** An exclusive, server-named queue on its own connection, consumed into a buffer. */
export class RabbitQueue {
  private readonly received: ConsumeMessage[] = [];
  private waiters: ((m: ConsumeMessage) => void)[] = [];

  private constructor(
    private readonly model: ChannelModel,
    readonly channel: Channel,
    readonly name: string,
  ) {}

  static async create(options: { bindTo?: { exchange: string; type?: string; routingKey: string } } = {}): Promise<RabbitQueue> {
    const model = await amqplib.connect(AMQP_URL);
    const channel = await model.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    if (options.bindTo) {
      await channel.assertExchange(options.bindTo.exchange, options.bindTo.type ?? 'direct', { durable: false, autoDelete: true });
      await channel.bindQueue(queue, options.bindTo.exchange, options.bindTo.routingKey);
    }
    const q = new RabbitQueue(model, channel, queue);
    await channel.consume(queue, (m) => m && q.deliver(m), { noAck: true });
    return q;
  }

  private deliver(m: ConsumeMessage): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(m);
    else this.received.push(m);
  }

  /** The next message, or an error after `timeoutMs`. */
  next(timeoutMs = 5000): Promise<ConsumeMessage> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no message on ${this.name} within ${timeoutMs}ms`));
      }, timeoutMs);
      const waiter = (m: ConsumeMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
