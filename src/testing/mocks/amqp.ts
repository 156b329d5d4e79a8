/**
 * An AMQP "broker" for policy tests: kumo.amqp clients connect through this
 * connector instead of a socket, and every publish is recorded.
 */
import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import type { Connector } from '../../clients/amqp/channel.ts';
import type { Clock } from '../../util/clock.ts';

export interface PublishedAmqpMessage {
  exchange: string;
  routingKey: string;
  payload: Uint8Array;
  properties: Record<string, unknown>;
  /** Virtual time of the publish. */
  atMs: number;
}

class FakeChannel extends EventEmitter {
  constructor(private readonly broker: MockAmqp) {
    super();
  }
  publish(exchange: string, routingKey: string, content: Uint8Array, options: Record<string, unknown> = {}): boolean {
    const failure = this.broker.takeFailure();
    if (failure !== undefined) throw new Error(failure);
    this.broker.messages.push({ exchange, routingKey, payload: new Uint8Array(content), properties: { ...options }, atMs: this.broker.clock.now() });
    return true;
  }
  async waitForConfirms(): Promise<void> {}
  async close(): Promise<void> {
    this.emit('close');
  }
}

class FakeConnection extends EventEmitter {
  constructor(private readonly broker: MockAmqp) {
    super();
  }
  async createChannel(): Promise<FakeChannel> {
    return new FakeChannel(this.broker);
  }
  async createConfirmChannel(): Promise<FakeChannel> {
    return new FakeChannel(this.broker);
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

export class MockAmqp {
  constructor(readonly clock: Clock) {}
  readonly messages: PublishedAmqpMessage[] = [];
  connections = 0;
  private readonly failures: string[] = [];

  failNext(text: string): void {
    this.failures.push(text);
  }

  takeFailure(): string | undefined {
    return this.failures.shift();
  }

  readonly connector: Connector = async () => {
    this.connections++;
    return new FakeConnection(this) as unknown as ChannelModel;
  };
}
