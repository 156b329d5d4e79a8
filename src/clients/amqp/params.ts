/**
 * Parameter tables of client:publish (lapin style: properties nested) and
 * kumo.amqp.basic_publish (amqprs style: flat and strict), turned into an
 * amqplib publish. Input is the Lua table as JSON; errors are serde-style
 * FieldErrors.
 */
import type { Options } from 'amqplib';
import { JsonFloat, isJsonObject, type JsonObject, type JsonValue } from '../../util/json.ts';
import {
  FieldError,
  describeValue,
  expectObject,
  optBool,
  optDuration,
  optInteger,
  optString,
  optStringMap,
  rejectUnknown,
  requireField,
} from '../serde-fields.ts';
import type { PublishArgs } from './channel.ts';
import type { ConnectionParams } from './target.ts';

const U8 = [0, 255, 'u8'] as const;
const U16 = [0, 65535, 'u16'] as const;
const U64 = [0, Number.MAX_SAFE_INTEGER, 'u64'] as const;

/** Property names shared by both styles, mapped to amqplib's option names. */
const STRING_PROPERTIES: ReadonlyArray<readonly [string, keyof Options.Publish]> = [
  ['content_type', 'contentType'],
  ['content_encoding', 'contentEncoding'],
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
];

function commonProperties(obj: JsonObject, typeKey: 'kind' | 'message_type'): Options.Publish {
  const out: Record<string, unknown> = {};
  for (const [key, option] of STRING_PROPERTIES) {
    const v = optString(obj, key);
    if (v !== undefined) out[option] = v;
  }
  // cluster_id is accepted but amqplib never sends it (it is deprecated in AMQP 0-9-1).
  optString(obj, 'cluster_id');
  const type = optString(obj, typeKey);
  if (type !== undefined) out.type = type;
  const deliveryMode = optInteger(obj, 'delivery_mode', ...U8);
  if (deliveryMode !== undefined) out.deliveryMode = deliveryMode;
  const priority = optInteger(obj, 'priority', ...U8);
  if (priority !== undefined) out.priority = priority;
  const timestamp = optInteger(obj, 'timestamp', ...U64);
  if (timestamp !== undefined) out.timestamp = timestamp;
  return out as Options.Publish;
}

const LAPIN_INT_TYPES = new Set(['ShortShortInt', 'ShortShortUInt', 'ShortInt', 'ShortUInt', 'LongInt', 'LongUInt', 'LongLongInt', 'Timestamp']);

/**
 * lapin's serde form of an AMQP field table: each value is `{ Type = value }`
 * (`LongString` as an array of byte numbers or a string). Plain strings,
 * numbers and booleans are accepted too.
 */
export function lapinHeaders(v: JsonValue): Record<string, unknown> {
  const table = expectObject(v, 'struct FieldTable');
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(table)) out[name] = lapinValue(value);
  return out;
}

function lapinValue(v: JsonValue): unknown {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (v instanceof JsonFloat) return v.value;
  if (!isJsonObject(v) || Object.keys(v).length !== 1) throw new FieldError(`invalid type: ${describeValue(v)}, expected enum AMQPValue`);
  const [type, inner] = Object.entries(v)[0]!;
  if (type === 'LongString' || type === 'ShortString') {
    if (typeof inner === 'string') return inner;
    if (Array.isArray(inner) && inner.every((b) => typeof b === 'number' && b >= 0 && b <= 255)) {
      const bytes = Buffer.from(inner as number[]);
      const text = bytes.toString('utf8');
      return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes;
    }
    throw new FieldError(`invalid type: ${describeValue(inner)}, expected a byte array`);
  }
  if (type === 'Boolean') {
    if (typeof inner !== 'boolean') throw new FieldError(`invalid type: ${describeValue(inner)}, expected a boolean`);
    return inner;
  }
  if (LAPIN_INT_TYPES.has(type) || type === 'Float' || type === 'Double') {
    const n = inner instanceof JsonFloat ? inner.value : inner;
    if (typeof n !== 'number') throw new FieldError(`invalid type: ${describeValue(inner)}, expected a number`);
    return n;
  }
  if (type === 'FieldTable') return lapinHeaders(inner);
  if (type === 'FieldArray') {
    if (!Array.isArray(inner)) throw new FieldError(`invalid type: ${describeValue(inner)}, expected a sequence`);
    return inner.map(lapinValue);
  }
  if (type === 'Void') return null;
  throw new FieldError(`unknown variant \`${type}\`, expected one of \`Boolean\`, \`ShortShortInt\`, \`LongString\`, \`LongLongInt\`, \`Double\`, \`FieldTable\`, ...`);
}

/** client:publish{ routing_key, payload, exchange?, options?, properties? }; unknown keys ignored. */
export function lapinPublish(v: JsonValue): PublishArgs {
  const obj = expectObject(v, 'struct PublishParams');
  const routingKey = requireField(obj, 'routing_key', optString);
  const payload = requireField(obj, 'payload', optString);
  const exchange = optString(obj, 'exchange') ?? '';
  const opts = obj.options === undefined || obj.options === null ? {} : expectObject(obj.options, 'struct BasicPublishOptions');
  const props = obj.properties === undefined || obj.properties === null ? {} : expectObject(obj.properties, 'struct AMQPProperties');
  const options = commonProperties(props, 'kind');
  if (props.headers !== undefined && props.headers !== null) options.headers = lapinHeaders(props.headers);
  options.mandatory = optBool(opts, 'mandatory') ?? false;
  // `immediate` is accepted; amqplib always sends false (RabbitMQ does not implement it).
  optBool(opts, 'immediate');
  return { exchange, routingKey, content: Buffer.from(payload, 'utf8'), options };
}

const BASIC_PUBLISH_FIELDS = [
  'routing_key', 'payload', 'connection', 'exchange', 'mandatory', 'immediate', 'app_id', 'cluster_id',
  'content_encoding', 'content_type', 'correlation_id', 'expiration', 'message_id', 'message_type',
  'reply_to', 'user_id', 'delivery_mode', 'priority', 'timestamp', 'headers',
] as const;

const CONNECTION_FIELDS = [
  'host', 'port', 'username', 'password', 'vhost', 'connection_name', 'heartbeat', 'enable_tls', 'root_ca_cert',
  'client_cert', 'client_private_key', 'confirm_select', 'pool_size', 'connect_timeout', 'recycle_timeout',
  'wait_timeout', 'publish_timeout',
] as const;

export interface BasicPublishRequest {
  publish: PublishArgs;
  connection: ConnectionParams;
  /** Identity of the pool: every connection field takes part. */
  poolKey: string;
  confirmSelect: boolean;
  publishTimeoutMs: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 60_000;

/** kumo.amqp.basic_publish{...}: strict, flat properties, `connection` table. */
export function basicPublish(v: JsonValue): BasicPublishRequest {
  const obj = expectObject(v, 'struct PublishParams');
  rejectUnknown(obj, BASIC_PUBLISH_FIELDS);
  const routingKey = requireField(obj, 'routing_key', optString);
  const payload = requireField(obj, 'payload', optString);
  if (obj.connection === undefined || obj.connection === null) throw new FieldError('missing field `connection`');
  const conn = expectObject(obj.connection, 'struct ConnectionInfo');
  rejectUnknown(conn, CONNECTION_FIELDS);
  const connection: ConnectionParams = {
    host: requireField(conn, 'host', optString),
    port: optInteger(conn, 'port', ...U16),
    username: optString(conn, 'username'),
    password: optString(conn, 'password'),
    vhost: optString(conn, 'vhost'),
    connection_name: optString(conn, 'connection_name'),
    heartbeat: optInteger(conn, 'heartbeat', ...U16),
    enable_tls: optBool(conn, 'enable_tls'),
    root_ca_cert: optString(conn, 'root_ca_cert'),
    client_cert: optString(conn, 'client_cert'),
    client_private_key: optString(conn, 'client_private_key'),
    connect_timeout_ms: optDuration(conn, 'connect_timeout'),
  };
  // Pool tuning of the upstream pool library; one connection per key serves here.
  optInteger(conn, 'pool_size', 0, Number.MAX_SAFE_INTEGER, 'usize');
  optDuration(conn, 'recycle_timeout');
  optDuration(conn, 'wait_timeout');
  const options = commonProperties(obj, 'message_type');
  // amqprs's FieldTable form is unusable from Lua; a plain string→string map is accepted instead.
  const headers = optStringMap(obj, 'headers');
  if (headers) options.headers = Object.fromEntries(headers);
  options.mandatory = optBool(obj, 'mandatory') ?? false;
  optBool(obj, 'immediate');
  return {
    publish: { exchange: optString(obj, 'exchange') ?? '', routingKey, content: Buffer.from(payload, 'utf8'), options },
    connection,
    poolKey: JSON.stringify(Object.keys(conn).sort().map((k) => [k, conn[k]])),
    confirmSelect: optBool(conn, 'confirm_select') ?? false,
    publishTimeoutMs: optDuration(conn, 'publish_timeout') ?? DEFAULT_PUBLISH_TIMEOUT_MS,
  };
}
