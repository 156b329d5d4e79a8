/**
 * The producer behind kumo.kafka: connects lazily on the first send (upstream
 * makes no connection at build time), applies the per-send deadline and
 * shapes results as KumoMTA does (partition, offset; batch failures as
 * parallel arrays).
 */
import type { IHeaders, Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import { lazyRequire } from '../../util/lazy-require.ts';
import { ServiceSlot } from '../../kumo/context.ts';
import { SystemClock, type Clock } from '../../util/clock.ts';
import type { ProducerSettings } from './config.ts';

const kafkajs = lazyRequire<typeof import('kafkajs')>('kafkajs');

/** The part of a kafkajs Producer kumo-lua uses. */
export interface ProducerLike {
  connect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

export type KafkaProducerFactory = (settings: ProducerSettings) => ProducerLike;

export const kafkajsProducerFactory: KafkaProducerFactory = (settings) =>
  new (kafkajs().Kafka)({ ...settings.kafka, logLevel: kafkajs().logLevel.NOTHING }).producer(settings.producer);

let currentFactory: KafkaProducerFactory = kafkajsProducerFactory;

/** Replaces the process-wide factory; returns the previous one. */
export function setKafkaProducerFactory(factory: KafkaProducerFactory | undefined): KafkaProducerFactory {
  const previous = currentFactory;
  currentFactory = factory ?? kafkajsProducerFactory;
  return previous;
}

export function kafkaProducerFactory(): KafkaProducerFactory {
  return currentFactory;
}

/** Per-KumoContext override; wins over the process-wide factory. */
export const KAFKA_PRODUCER_FACTORY = new ServiceSlot<KafkaProducerFactory>('the kumo.kafka producer factory');

export class KafkaSendError extends Error {
  override name = 'KafkaSendError';
}

export interface KafkaRecord {
  topic: string;
  payload: Buffer;
  key?: string;
  headers?: [string, string][];
  partition?: number;
  /** Overall deadline of this send; default 60 s. */
  timeoutMs?: number;
}

export interface SendResult {
  partition: number;
  /** i64 in upstream; a JS number (exact up to 2^53). */
  offset: number;
}

export const DEFAULT_SEND_TIMEOUT_MS = 60_000;

export class KafkaProducer {
  private readonly producer: ProducerLike;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly settings: ProducerSettings,
    factory: KafkaProducerFactory = kafkajsProducerFactory,
    private readonly clock: Clock = new SystemClock(),
  ) {
    this.producer = factory(settings);
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((e: unknown) => {
      this.connecting = undefined; // the next send tries again
      throw e;
    });
    return this.connecting;
  }

  async send(record: KafkaRecord): Promise<SendResult> {
    if (this.closed) throw new KafkaSendError('client was closed');
    const deadlineMs = Math.min(record.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, this.settings.messageTimeoutMs);
    const message: Message = { value: record.payload };
    if (record.key !== undefined) message.key = record.key;
    if (record.partition !== undefined) message.partition = record.partition;
    if (record.headers) message.headers = Object.fromEntries(record.headers) as IHeaders;
    const work = this.ensureConnected().then(() =>
      this.producer.send({
        topic: record.topic,
        messages: [message],
        acks: this.settings.acks,
        compression: this.settings.compression,
        ...(this.settings.requestTimeoutMs !== undefined ? { timeout: this.settings.requestTimeoutMs } : {}),
      }),
    );
    const metadata = await this.withDeadline(deadlineMs, work);
    const first = metadata[0];
    if (!first) throw new KafkaSendError('Message production error: no delivery report from the broker');
    return { partition: first.partition, offset: Number(first.baseOffset ?? first.offset ?? -1) };
  }

  /** Sends every record concurrently; failures come back as 1-based indexes and messages. */
  sendBatch(records: KafkaRecord[]): Promise<BatchOutcome> {
    return batchOutcome(records.map((r) => this.send(r)));
  }

  /** Later sends raise "client was closed"; in-flight sends finish before the disconnect. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const connecting = this.connecting;
    if (connecting) connecting.then(() => this.producer.disconnect()).catch(() => undefined);
  }

  private withDeadline<T>(ms: number, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimer(ms, () => reject(new KafkaSendError('Message production error: MessageTimedOut (Local: Message timed out)')));
      work.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (e: unknown) => {
          timer.cancel();
          reject(new KafkaSendError(`Message production error: ${describeKafkaError(e)}`));
        },
      );
    });
  }
}

function describeKafkaError(e: unknown): string {
  const err = e as { name?: string; message?: string; type?: string };
  const kind = err?.type ?? err?.name ?? 'KafkaError';
  return `${kind} (${err?.message ?? String(e)})`;
}

export interface BatchOutcome {
  /** 1-based positions of failed records, ascending. */
  failedIndexes: number[];
  /** One message per failure, same order. */
  errors: string[];
}

/** Waits for every send and lists the failures (send_batch's return shape). */
export async function batchOutcome(sends: Promise<SendResult>[]): Promise<BatchOutcome> {
  const outcomes = await Promise.allSettled(sends);
  const failedIndexes: number[] = [];
  const errors: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.status === 'rejected') {
      failedIndexes.push(i + 1);
      errors.push((o.reason as Error)?.message ?? String(o.reason));
    }
  });
  return { failedIndexes, errors };
}
