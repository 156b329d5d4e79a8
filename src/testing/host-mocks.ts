/**
 * Lua handles on a test's mocked endpoints: `t.http(url)`, `t.kafka()`,
 * `t.amqp()`. Each records what the policy sent and can be scripted.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { argInteger, argString, checkTable, isNoneOrNil, optString } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { decodeText, pushBytes } from '../lua/strings.ts';
import { fromJsonText, isJsonObject, jsonNumber, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseDuration } from '../util/duration.ts';
import type { MockEndpoint, RecordedRequest, ScriptedReply } from './mocks/http.ts';
import type { MockKafka, PublishedKafkaMessage } from './mocks/kafka.ts';
import type { MockAmqp, PublishedAmqpMessage } from './mocks/amqp.ts';

const REPLY_KEYS = new Set(['status', 'body', 'headers', 'delay', 'error']);

/** `{ status = 503, body = '...', headers = {...}, delay = '2s', error = 'connection refused' }`. */
export function parseReply(value: JsonValue): ScriptedReply {
  if (!isJsonObject(value)) throw new Error('a reply must be a table like { status = 200, body = "ok" }');
  for (const key of Object.keys(value)) {
    if (!REPLY_KEYS.has(key)) throw new Error(`unknown reply field '${key}', expected status, body, headers, delay or error`);
  }
  const reply: ScriptedReply = {};
  if (value.status !== undefined) {
    const status = jsonNumber(value.status);
    if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) throw new Error(`reply status must be an HTTP status code, got ${JSON.stringify(value.status)}`);
    reply.status = status;
  }
  if (value.body !== undefined) {
    if (typeof value.body === 'string') reply.body = value.body;
    else reply.body = JSON.stringify(value.body);
  }
  if (value.headers !== undefined) {
    if (!isJsonObject(value.headers)) throw new Error('reply headers must be a table of name = value');
    reply.headers = Object.fromEntries(Object.entries(value.headers).map(([k, v]) => [k, String(v)]));
  }
  if (value.delay !== undefined) reply.delayMs = parseDuration(value.delay, 'reply delay');
  if (value.error !== undefined) reply.error = String(value.error);
  return reply;
}

function parseBody(body: Uint8Array): JsonValue | undefined {
  try {
    return fromJsonText(decodeText(body));
  } catch {
    return undefined;
  }
}

function requestJson(r: RecordedRequest): JsonObject {
  const json = parseBody(r.body);
  const out: JsonObject = { method: r.method, url: r.url, headers: r.headers, body: decodeText(r.body), at: r.atMs / 1000 };
  if (json !== undefined) out.json = json;
  return out;
}

/** The i-th (1-based, negative counts from the end) element, or a clear error. */
function pick<T>(items: readonly T[], L: LuaState, idx: number, what: string): T {
  const n = isNoneOrNil(L, idx) ? items.length : argInteger(L, idx);
  const i = n < 0 ? items.length + n : n - 1;
  const item = items[i];
  if (item === undefined) throw new Error(`no ${what} #${n}: ${items.length} received`);
  return item;
}

function pushList<T>(L: LuaState, items: readonly T[], toJsonValue: (item: T) => JsonValue): number {
  pushJson(L, items.map(toJsonValue));
  return 1;
}

export const EndpointClass: LuaClass<MockEndpoint> = new LuaClass<MockEndpoint>({
  name: 'MockEndpoint',
  methods: {
    respond: (L) => {
      checkTable(L, 2);
      EndpointClass.check(L, 1).respond(parseReply(toJson(L, 2)));
      lua.lua_pushvalue(L, 1);
      return 1;
    },
    respond_once: (L) => {
      const ep = EndpointClass.check(L, 1);
      for (let i = 2; i <= lua.lua_gettop(L); i++) {
        checkTable(L, i);
        ep.respondOnce(parseReply(toJson(L, i)));
      }
      lua.lua_pushvalue(L, 1);
      return 1;
    },
    count: (L) => (lua.lua_pushinteger(L, EndpointClass.check(L, 1).requests.length), 1),
    requests: (L) => pushList(L, EndpointClass.check(L, 1).requests, requestJson),
    request: (L) => (pushJson(L, requestJson(pick(EndpointClass.check(L, 1).requests, L, 2, 'request'))), 1),
    /** The parsed JSON body of request i (default: the last). */
    json: (L) => {
      const r = pick(EndpointClass.check(L, 1).requests, L, 2, 'request');
      const json = parseBody(r.body);
      if (json === undefined) throw new Error(`request to ${r.url} did not carry JSON: ${decodeText(r.body).slice(0, 200)}`);
      pushJson(L, json);
      return 1;
    },
    /** Every record delivered to this endpoint: bodies that are a record, an array of records, or JSON lines. */
    records: (L) => {
      const out: JsonValue[] = [];
      for (const r of EndpointClass.check(L, 1).requests) {
        const json = parseBody(r.body);
        if (Array.isArray(json)) out.push(...json);
        else if (json !== undefined) out.push(json);
        else for (const line of decodeText(r.body).split('\n')) if (line.trim()) out.push(parseBody(new TextEncoder().encode(line)) ?? line);
      }
      pushJson(L, out);
      return 1;
    },
  },
});

function kafkaJson(m: PublishedKafkaMessage): JsonObject {
  const json = parseBody(m.payload);
  const out: JsonObject = { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, payload: decodeText(m.payload), headers: m.headers, at: m.atMs / 1000 };
  if (json !== undefined) out.json = json;
  return out;
}

export const KafkaClass: LuaClass<MockKafka> = new LuaClass<MockKafka>({
  name: 'MockKafka',
  methods: {
    messages: (L) => {
      const kafka = KafkaClass.check(L, 1);
      const topic = optString(L, 2);
      return pushList(L, topic === undefined ? kafka.messages : kafka.topic(topic), kafkaJson);
    },
    count: (L) => (lua.lua_pushinteger(L, KafkaClass.check(L, 1).messages.length), 1),
    fail_next: (L) => (KafkaClass.check(L, 1).failNext(argString(L, 2)), 0),
    payload: (L) => (pushBytes(L, pick(KafkaClass.check(L, 1).messages, L, 2, 'message').payload), 1),
  },
});

function amqpJson(m: PublishedAmqpMessage): JsonObject {
  const json = parseBody(m.payload);
  const props = JSON.parse(JSON.stringify(m.properties)) as JsonObject;
  const out: JsonObject = { exchange: m.exchange, routing_key: m.routingKey, payload: decodeText(m.payload), properties: props, at: m.atMs / 1000 };
  if (json !== undefined) out.json = json;
  return out;
}

export const AmqpClass: LuaClass<MockAmqp> = new LuaClass<MockAmqp>({
  name: 'MockAmqp',
  methods: {
    messages: (L) => pushList(L, AmqpClass.check(L, 1).messages, amqpJson),
    count: (L) => (lua.lua_pushinteger(L, AmqpClass.check(L, 1).messages.length), 1),
    connections: (L) => (lua.lua_pushinteger(L, AmqpClass.check(L, 1).connections), 1),
    fail_next: (L) => (AmqpClass.check(L, 1).failNext(argString(L, 2)), 0),
  },
});
