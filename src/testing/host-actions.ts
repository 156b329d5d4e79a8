/**
 * The two ways a test feeds events in: `t.inject{...}` (KumoMTA's HTTP
 * injection request, through the same handler the HTTP listener uses) and
 * `t.log_record{...}` (a synthetic log record for the hooks).
 */
import os from 'node:os';
import { InjectHandler, type InjectResponse } from '../server/http/inject.ts';
import { ListenerPolicy } from '../server/policy-events.ts';
import { ListenerMetrics } from '../server/metrics/listener-metrics.ts';
import { MESSAGE_INTAKE } from '../server/ports.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { Message } from '../message/message.ts';
import { responseFromText } from '../records/response.ts';
import type { RecordType } from '../records/types.ts';
import { isJsonObject, jsonNumber, type JsonObject, type JsonValue } from '../util/json.ts';
import type { HostState } from './host-module.ts';

/** Injects like `POST /api/inject/v1` from 127.0.0.1; returns KumoMTA's response object. */
export async function injectMessages(env: HostState, request: JsonValue | undefined): Promise<JsonObject> {
  if (!isJsonObject(request)) throw new Error('t.inject expects an HTTP injection request table: { envelope_sender = ..., recipients = {{ email = ... }}, content = ... }');
  const ctx = env.ctx;
  const handler = new InjectHandler({
    intake: ctx.require(MESSAGE_INTAKE, 't.inject'),
    records: env.kumod.services.records,
    policy: new ListenerPolicy(ctx.events, pushMessage),
    metrics: new ListenerMetrics(),
    clock: env.clock,
  });
  const response: InjectResponse = await handler.handle(JSON.stringify(request), {
    peerIp: '127.0.0.1',
    localIp: '127.0.0.1',
    hostname: 'kumo-lua-test',
    machineHostname: os.hostname(),
    auth: { peer_address: '127.0.0.1', identities: [], groups: [] },
  });
  return { ...response };
}

const SYNTHETIC_KEYS = new Set(['type', 'sender', 'recipient', 'queue', 'code', 'content', 'meta', 'body', 'num_attempts', 'site', 'delivery_protocol']);

function str(spec: JsonObject, key: string, fallback: string): string {
  const v = spec[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`t.log_record: '${key}' must be a string`);
  return v;
}

const DEFAULT_CODES: Partial<Record<RecordType, number>> = { Reception: 250, Delivery: 250, TransientFailure: 451, Bounce: 550, Expiration: 551, AdminBounce: 551 };

/**
 * Logs a record about a made-up message, e.g.
 * `t.log_record{ type = 'Bounce', recipient = 'x@example.com', code = 550, content = '5.1.1 no such user' }`.
 * It reaches local logs, log hooks and disposition hooks like a real one.
 */
export async function logSyntheticRecord(env: HostState, spec: JsonValue | undefined): Promise<string> {
  if (!isJsonObject(spec)) throw new Error("t.log_record expects a table like { type = 'Delivery', recipient = 'user@example.com' }");
  for (const key of Object.keys(spec)) if (!SYNTHETIC_KEYS.has(key)) throw new Error(`t.log_record: unknown field '${key}', expected one of ${[...SYNTHETIC_KEYS].join(', ')}`);
  const type = str(spec, 'type', 'Delivery') as RecordType;
  const recipient = str(spec, 'recipient', 'recipient@example.com');
  const meta: JsonObject = isJsonObject(spec.meta) ? { ...spec.meta } : {};
  if (spec.queue !== undefined) meta.queue = str(spec, 'queue', '');
  const body = str(spec, 'body', `Subject: test message\r\nFrom: ${str(spec, 'sender', 'sender@example.com')}\r\n\r\nhello\r\n`);
  const msg = new Message({ sender: str(spec, 'sender', 'sender@example.com'), recipients: [recipient], meta, data: new TextEncoder().encode(body), createdMs: env.clock.now() });
  const attempts = jsonNumber(spec.num_attempts);
  if (attempts !== undefined) msg.numAttempts = attempts;
  const code = jsonNumber(spec.code) ?? DEFAULT_CODES[type] ?? 250;
  await env.kumod.services.records.log({
    type,
    message: msg,
    response: responseFromText(code, str(spec, 'content', type === 'Delivery' ? 'OK' : '')),
    site: str(spec, 'site', ''),
    deliveryProtocol: spec.delivery_protocol === undefined ? (type === 'Delivery' || type === 'TransientFailure' || type === 'Bounce' ? 'ESMTP' : null) : str(spec, 'delivery_protocol', ''),
    peerAddress: null,
  });
  return msg.id;
}
