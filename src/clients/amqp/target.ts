/**
 * Where and how to connect: parsed from a RabbitMQ URI (build_client) or a
 * basic_publish `connection` table, in the shape amqplib's connect() takes.
 */
import fs from 'node:fs';
import type { Options } from 'amqplib';

export class AmqpConfigError extends Error {
  override name = 'AmqpConfigError';
}

export interface AmqpTarget {
  /** amqplib's object form (protocol, hostname, port, credentials, vhost, tuning). */
  connect: Options.Connect;
  /** Socket options: TLS material, client properties. */
  socket: Record<string, unknown>;
  /** `host:port`, for error messages. */
  label: string;
  /** Fail a connect attempt after this long. */
  connectTimeoutMs: number;
}

/** build_client's fixed connect deadline. */
export const BUILD_CLIENT_CONNECT_TIMEOUT_MS = 20_000;

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw new AmqpConfigError(`invalid AMQP URI: ${name}=${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

/**
 * `amqp[s]://user:pass@host:port/vhost?heartbeat=&frame_max=&channel_max=&connection_timeout=`.
 * Defaults: guest/guest, 5672 (5671 for amqps), vhost `/` when there is no
 * path, else the percent-decoded path after the first `/`.
 */
export function targetFromUri(uri: string): AmqpTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AmqpConfigError(`invalid AMQP URI ${JSON.stringify(uri)}`);
  }
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol !== 'amqp' && protocol !== 'amqps') throw new AmqpConfigError(`invalid AMQP URI ${JSON.stringify(uri)}: scheme must be amqp or amqps`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = url.port ? Number(url.port) : protocol === 'amqps' ? 5671 : 5672;
  const vhost = url.pathname === '' ? '/' : decodeURIComponent(url.pathname.slice(1));
  const q = url.searchParams;
  const timeout = intParam(q, 'connection_timeout');
  return {
    connect: {
      protocol,
      hostname,
      port,
      username: url.username ? decodeURIComponent(url.username) : 'guest',
      password: url.password ? decodeURIComponent(url.password) : url.username ? '' : 'guest',
      vhost,
      heartbeat: intParam(q, 'heartbeat'),
      frameMax: intParam(q, 'frame_max'),
      channelMax: intParam(q, 'channel_max'),
    },
    socket: {},
    label: `${hostname}:${port}`,
    connectTimeoutMs: timeout !== undefined && timeout > 0 ? Math.min(timeout, BUILD_CLIENT_CONNECT_TIMEOUT_MS) : BUILD_CLIENT_CONNECT_TIMEOUT_MS,
  };
}

/** basic_publish's `connection` table, already validated. */
export interface ConnectionParams {
  host: string;
  port?: number;
  username?: string;
  password?: string;
  vhost?: string;
  connection_name?: string;
  heartbeat?: number;
  enable_tls?: boolean;
  root_ca_cert?: string;
  client_cert?: string;
  client_private_key?: string;
  connect_timeout_ms?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

export function targetFromParams(p: ConnectionParams): AmqpTarget {
  if ((p.client_cert === undefined) !== (p.client_private_key === undefined)) {
    throw new AmqpConfigError('Either both client_cert and client_private_key must be specified, or neither');
  }
  const protocol = p.enable_tls ? 'amqps' : 'amqp';
  const port = p.port ?? 5672;
  const socket: Record<string, unknown> = {};
  const read = (what: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new AmqpConfigError(`${what}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  if (p.root_ca_cert) socket.ca = [read('root_ca_cert', p.root_ca_cert)];
  if (p.client_cert) socket.cert = read('client_cert', p.client_cert);
  if (p.client_private_key) socket.key = read('client_private_key', p.client_private_key);
  if (p.connection_name) socket.clientProperties = { connection_name: p.connection_name };
  return {
    connect: {
      protocol,
      hostname: p.host,
      port,
      username: p.username ?? 'guest',
      password: p.password ?? 'guest',
      vhost: p.vhost ?? '/',
      heartbeat: p.heartbeat,
    },
    socket,
    label: `${p.host}:${port}`,
    connectTimeoutMs: p.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}
