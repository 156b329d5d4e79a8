/**
 * A Kafka "broker" for policy tests: kumo.kafka producers built in a test
 * publish here, through the same producer code as production (the kafkajs
 * producer is the only part swapped out).
 */
import type { ProducerRecord, RecordMetadata } from 'kafkajs';
import type { KafkaProducerFactory } from '../../clients/kafka/producer.ts';
import type { Clock } from '../../util/clock.ts';

export interface PublishedKafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: Uint8Array;
  headers: Record<string, string>;
  /** Virtual time of the publish. */
  atMs: number;
}

function bytes(v: unknown): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array(0);
  if (typeof v === 'string') return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return new TextEncoder().encode(String(v));
}

export class MockKafka {
  constructor(private readonly clock: Clock) {}
  readonly messages: PublishedKafkaMessage[] = [];
  private readonly failures: string[] = [];
  private readonly offsets = new Map<string, number>();

  /** The next send fails with this error text (queued, one per send). */
  failNext(text: string): void {
    this.failures.push(text);
  }

  topic(name: string): PublishedKafkaMessage[] {
    return this.messages.filter((m) => m.topic === name);
  }

  readonly factory: KafkaProducerFactory = () => ({
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: async (record: ProducerRecord): Promise<RecordMetadata[]> => {
      const failure = this.failures.shift();
      if (failure !== undefined) throw new Error(failure);
      const out: RecordMetadata[] = [];
      for (const m of record.messages) {
        const partition = m.partition ?? 0;
        const key = `${record.topic}/${partition}`;
        const offset = this.offsets.get(key) ?? 0;
        this.offsets.set(key, offset + 1);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = new TextDecoder().decode(bytes(Array.isArray(v) ? v[0] : v));
        this.messages.push({ topic: record.topic, partition, offset, key: m.key === null || m.key === undefined ? null : new TextDecoder().decode(bytes(m.key)), payload: bytes(m.value), headers, atMs: this.clock.now() });
        out.push({ topicName: record.topic, partition, errorCode: 0, baseOffset: String(offset) });
      }
      return out;
    },
  });
}
