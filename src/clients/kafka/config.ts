/**
 * librdkafka-style producer properties (what KumoMTA policies pass to
 * kumo.kafka.build_producer) translated to kafkajs options. Properties
 * without a kafkajs equivalent are reported as warnings rather than silently
 * dropped; invalid values of mapped properties raise, naming the property.
 */
import fs from 'node:fs';
import type { CompressionTypes, KafkaConfig, ProducerConfig, SASLOptions } from 'kafkajs';

/** kafkajs's CompressionTypes values (the package itself loads when a producer is built). */
const COMPRESSION_NONE = 0 as CompressionTypes;
const COMPRESSION_GZIP = 1 as CompressionTypes;
import type { ConnectionOptions } from 'node:tls';

export class KafkaConfigError extends Error {
  override name = 'KafkaConfigError';
}

export interface ProducerSettings {
  kafka: KafkaConfig;
  producer: ProducerConfig;
  /** Per-send options. */
  acks: number;
  compression: CompressionTypes;
  /** Broker-side ack wait (request.timeout.ms). */
  requestTimeoutMs: number | undefined;
  /** Delivery deadline of one message (message.timeout.ms, librdkafka default 300 s). */
  messageTimeoutMs: number;
  /** Properties that were accepted but have no effect here. */
  warnings: string[];
}

export const DEFAULT_MESSAGE_TIMEOUT_MS = 300_000;

/** librdkafka properties that tune its own batching/queueing; kafkajs sends each call at once. */
const NO_EQUIVALENT = new Set([
  'linger.ms', 'queue.buffering.max.ms', 'batch.size', 'batch.num.messages', 'queue.buffering.max.messages',
  'queue.buffering.max.kbytes', 'message.max.bytes', 'socket.keepalive.enable', 'statistics.interval.ms',
  'api.version.request', 'broker.address.family', 'topic.metadata.refresh.interval.ms', 'partitioner',
  'compression.level', 'delivery.report.only.error', 'debug', 'log_level', 'enable.gapless.guarantee',
  'max.in.flight.requests.per.connection', 'max.in.flight', 'sticky.partitioning.linger.ms', 'client.rack',
]);

function int(name: string, value: string, min = 0): number {
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min) throw new KafkaConfigError(`Invalid value "${value}" for configuration property "${name}": expected an integer >= ${min}`);
  return Number(value);
}

function bool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new KafkaConfigError(`Invalid value "${value}" for configuration property "${name}": expected true or false`);
}

function readFile(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new KafkaConfigError(`configuration property "${name}": cannot read ${file}: ${(e as Error).message}`);
  }
}

const ACKS: Record<string, number> = { all: -1, '-1': -1, '0': 0, '1': 1 };
const COMPRESSION: Record<string, CompressionTypes | 'unsupported'> = {
  none: COMPRESSION_NONE,
  gzip: COMPRESSION_GZIP,
  snappy: 'unsupported',
  lz4: 'unsupported',
  zstd: 'unsupported',
};
const SASL: Record<string, 'plain' | 'scram-sha-256' | 'scram-sha-512'> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};

export function mapProducerConfig(pairs: Iterable<readonly [string, string]>): ProducerSettings {
  const props = new Map(pairs);
  const warnings: string[] = [];
  const kafka: KafkaConfig = { brokers: [] };
  const producer: ProducerConfig = {};
  const tls: ConnectionOptions = {};
  let tlsTouched = false;
  let acks = -1;
  let compression = COMPRESSION_NONE;
  let requestTimeoutMs: number | undefined;
  let messageTimeoutMs = DEFAULT_MESSAGE_TIMEOUT_MS;
  let protocol = 'PLAINTEXT';
  let mechanism: string | undefined;

  for (const [name, value] of props) {
    switch (name) {
      case 'bootstrap.servers':
      case 'metadata.broker.list':
        kafka.brokers = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        break;
      case 'client.id':
        kafka.clientId = value;
        break;
      case 'security.protocol':
        protocol = value.trim().toUpperCase();
        if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) throw new KafkaConfigError(`Invalid value "${value}" for configuration property "security.protocol"`);
        break;
      case 'sasl.mechanisms':
      case 'sasl.mechanism':
        mechanism = value.trim().toUpperCase();
        if (!SASL[mechanism]) throw new KafkaConfigError(`Unsupported value "${value}" for configuration property "${name}": kumo-lua supports PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512`);
        break;
      case 'sasl.username':
      case 'sasl.password':
        break; // read together with the mechanism below
      case 'acks':
      case 'request.required.acks': {
        const a = ACKS[value.trim().toLowerCase()];
        if (a === undefined) throw new KafkaConfigError(`Invalid value "${value}" for configuration property "${name}": expected all, -1, 0 or 1`);
        acks = a;
        break;
      }
      case 'compression.type':
      case 'compression.codec': {
        const c = COMPRESSION[value.trim().toLowerCase()];
        if (c === undefined) throw new KafkaConfigError(`Invalid value "${value}" for configuration property "${name}"`);
        if (c === 'unsupported') warnings.push(`${name}=${value} needs a codec kafkajs does not bundle; messages are sent uncompressed`);
        else compression = c;
        break;
      }
      case 'message.timeout.ms':
      case 'delivery.timeout.ms':
        messageTimeoutMs = int(name, value);
        break;
      case 'request.timeout.ms':
        requestTimeoutMs = int(name, value, 1);
        kafka.requestTimeout = requestTimeoutMs;
        break;
      case 'socket.connection.setup.timeout.ms':
        kafka.connectionTimeout = int(name, value, 1);
        break;
      case 'retries':
      case 'message.send.max.retries':
        producer.retry = { ...producer.retry, retries: int(name, value) };
        break;
      case 'retry.backoff.ms':
        producer.retry = { ...producer.retry, initialRetryTime: int(name, value, 1) };
        break;
      case 'enable.idempotence':
        producer.idempotent = bool(name, value);
        break;
      case 'allow.auto.create.topics':
        producer.allowAutoTopicCreation = bool(name, value);
        break;
      case 'ssl.ca.location':
        tls.ca = [readFile(name, value)];
        tlsTouched = true;
        break;
      case 'ssl.certificate.location':
        tls.cert = readFile(name, value);
        tlsTouched = true;
        break;
      case 'ssl.key.location':
        tls.key = readFile(name, value);
        tlsTouched = true;
        break;
      case 'ssl.key.password':
        tls.passphrase = value;
        tlsTouched = true;
        break;
      case 'enable.ssl.certificate.verification':
        tls.rejectUnauthorized = bool(name, value);
        tlsTouched = true;
        break;
      case 'ssl.endpoint.identification.algorithm':
        if (value.trim().toLowerCase() === 'none') tls.checkServerIdentity = () => undefined;
        tlsTouched = true;
        break;
      default:
        warnings.push(
          NO_EQUIVALENT.has(name)
            ? `property "${name}" has no kafkajs equivalent and is ignored`
            : `unknown or unsupported librdkafka property "${name}" is ignored`,
        );
    }
  }

  if (kafka.brokers.length === 0) throw new KafkaConfigError('configuration property "bootstrap.servers" is required (comma-separated host:port list)');
  if (protocol === 'SSL' || protocol === 'SASL_SSL') kafka.ssl = tlsTouched ? tls : true;
  else if (tlsTouched) warnings.push(`ssl.* properties are ignored because security.protocol is ${protocol}`);
  if (protocol.startsWith('SASL_')) {
    const username = props.get('sasl.username');
    const password = props.get('sasl.password');
    if (username === undefined || password === undefined) throw new KafkaConfigError(`security.protocol=${protocol} needs "sasl.username" and "sasl.password"`);
    kafka.sasl = { mechanism: SASL[mechanism ?? 'PLAIN']!, username, password } as SASLOptions;
  } else if (mechanism !== undefined || props.has('sasl.username')) {
    warnings.push(`sasl.* properties are ignored because security.protocol is ${protocol}`);
  }
  return { kafka, producer, acks, compression, requestTimeoutMs, messageTimeoutMs, warnings };
}
