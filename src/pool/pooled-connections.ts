/**
 * custom_lua connections on the pool of worker states: the constructor event
 * runs on the least busy worker and the connection stays there; send,
 * send_batch and close go to that worker with snapshots of the messages.
 */
import type { Message } from '../message/message.ts';
import { MULTI_HANDLER_EVENTS } from '../kumo/events.ts';
import type { ConnectionFactory, ConnectOptions, DeliveryConnection, SendOutcome } from '../delivery/types.ts';
import type { LuaPool, LuaWorker } from './pool.ts';
import { applyMetaChanges, snapshotOf, type SendReply } from './wire.ts';

export class PooledConnectionFactory implements ConnectionFactory {
  constructor(private readonly pool: LuaPool) {}

  async connect(constructorName: string, domain: string, tenant: string | null, campaign: string | null, options?: ConnectOptions): Promise<DeliveryConnection> {
    if (MULTI_HANDLER_EVENTS.has(constructorName)) {
      throw new Error(`${constructorName} is a multi-handler event and cannot be a custom_lua constructor`);
    }
    const worker = this.pool.leastBusy();
    worker.connections++;
    worker.connects++;
    try {
      const id = (await worker.request('connect', { name: constructorName, domain, tenant, campaign, batchSize: options?.batchSize ?? 1 })) as number;
      return new PooledConnection(worker, id, options?.batchSize ?? 1);
    } catch (e) {
      worker.connections--;
      throw e;
    }
  }
}

class PooledConnection implements DeliveryConnection {
  private closed = false;

  constructor(
    /** The worker whose state built the connection object. */
    readonly worker: LuaWorker,
    private readonly id: number,
    private readonly batchSize: number,
  ) {}

  async send(batch: Message[]): Promise<SendOutcome> {
    let reply: SendReply;
    try {
      reply = (await this.worker.request('send', { conn: this.id, messages: batch.map(snapshotOf) })) as SendReply;
    } catch (e) {
      return { kind: 'error', text: `sender:${this.batchSize === 1 ? 'send' : 'send_batch'} method failed: ${(e as Error).message}` };
    }
    applyMetaChanges(batch, reply.metaChanges);
    return reply.outcome;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.connections--;
    await this.worker.request('close', { conn: this.id });
  }
}
