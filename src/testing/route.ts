/**
 * `t.route{...}`: what a policy decides for one message, without delivering
 * it — the reception event runs, then the same events the engine fires to
 * place it: the scheduled queue and its get_queue_config, the egress pool and
 * its sources, and get_egress_path_config per source (lua-api-more §1.4).
 */
import { SmtpServerEvents } from '../server/smtp/server-events.ts';
import { lua, type LuaState } from '../lua/fengari.ts';
import { pushText } from '../lua/strings.ts';
import { toJson } from '../lua/marshal.ts';
import { LuaError } from '../lua/errors.ts';
import { asRejection } from '../kumo/reject.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { Message } from '../message/message.ts';
import { parseQueueName } from '../message/queue-name.ts';
import { ListenerPolicy } from '../server/policy-events.ts';
import { ConnectionMeta } from '../server/smtp/conn-meta.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import type { KumoContext } from '../kumo/context.ts';
import type { Clock } from '../util/clock.ts';

const ROUTE_KEYS = new Set(['sender', 'recipient', 'recipients', 'content', 'meta', 'via', 'conn_meta', 'site_name']);

/** A Lua string literal for any text (names and domains go into evaluated snippets). */
export function luaQuote(text: string): string {
  return `"${[...Buffer.from(text, 'utf8')].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b}`)).join('')}"`;
}

function field(spec: JsonObject, key: string, fallback: string): string {
  const v = spec[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`t.route: '${key}' must be a string`);
  return v;
}

function recipientsOf(spec: JsonObject): string[] {
  if (spec.recipients !== undefined) {
    if (!Array.isArray(spec.recipients) || !spec.recipients.every((r) => typeof r === 'string')) throw new Error("t.route: 'recipients' must be a list of addresses");
    return spec.recipients as string[];
  }
  return [field(spec, 'recipient', 'recipient@example.com')];
}

/** Result of a Lua event read as JSON; userdata configs read as the table they were made from. */
function readFirst(co: LuaState, n: number): JsonValue {
  if (n === 0 || lua.lua_isnil(co, 1)) return null;
  return toJson(co, 1, { keepArrayMarker: false });
}

async function fireEvent(ctx: KumoContext, name: string, args: (string | null)[]): Promise<JsonValue | undefined> {
  const r = await ctx.events.dispatch(
    name,
    (co) => {
      for (const a of args) {
        if (a === null) lua.lua_pushnil(co);
        else pushText(co, a);
      }
      return args.length;
    },
    readFirst,
  );
  return r.handled ? r.value : undefined;
}

async function evalLua(ctx: KumoContext, code: string, what: string): Promise<JsonValue> {
  try {
    return await ctx.runtime.evaluate(code, (co, n) => (n > 0 ? toJson(co, 1) : null), 'load:t.route');
  } catch (err) {
    throw new Error(`t.route: ${what}: ${(err as Error).message}`);
  }
}

/** The site name the engine would give `routing` (§1.4). */
async function siteNameFor(ctx: KumoContext, routing: string, queueConfig: JsonObject, override: string | undefined): Promise<string> {
  if (override !== undefined) return override;
  const protocol = isJsonObject(queueConfig.protocol) ? queueConfig.protocol : null;
  if (protocol && !('smtp' in protocol)) return routing;
  const smtp = protocol && isJsonObject(protocol.smtp) ? protocol.smtp : null;
  if (smtp && Array.isArray(smtp.mx_list)) {
    const labels = smtp.mx_list.map((e) => (typeof e === 'string' ? e : isJsonObject(e) ? String(e.name ?? e.addr) : String(e)));
    return `mx_list:${labels.join(',')}`;
  }
  const site = await evalLua(ctx, `return require('kumo').dns.lookup_mx(${luaQuote(routing)}).site_name`,
    `cannot resolve the MX site of ${routing} (configure kumo.dns.configure_test_resolver in the policy or pass site_name)`);
  return String(site);
}

async function receive(ctx: KumoContext, msg: Message, spec: JsonObject): Promise<JsonObject | null> {
  const via = field(spec, 'via', 'smtp');
  const policy = new ListenerPolicy(ctx.events, pushMessage);
  try {
    if (via === 'smtp') {
      const connMeta = isJsonObject(spec.conn_meta) ? spec.conn_meta : {};
      const peer = typeof connMeta.received_from === 'string' ? connMeta.received_from.replace(/:\d+$/, '') : '127.0.0.1';
      await new SmtpServerEvents(ctx.events, pushMessage).messageReceived(msg, new ConnectionMeta({ received_from: '127.0.0.1:40000', ...connMeta }, peer));
    } else if (via === 'http') {
      await policy.httpMessageGenerated(msg, { peer_address: '127.0.0.1', identities: [], groups: [] });
    } else if (via !== 'none') {
      throw new Error(`t.route: via must be 'smtp', 'http' or 'none', got '${via}'`);
    }
  } catch (err) {
    const rejection = err instanceof LuaError ? asRejection(err.payload) : undefined;
    if (rejection) return { code: rejection.code, text: rejection.text };
    throw err;
  }
  return null;
}

export async function routeMessage(ctx: KumoContext, clock: Clock, raw: JsonValue | undefined): Promise<JsonObject> {
  if (!isJsonObject(raw)) throw new Error("t.route expects a table like { sender = 'a@example.com', recipient = 'b@example.net', content = '...' }");
  for (const key of Object.keys(raw)) if (!ROUTE_KEYS.has(key)) throw new Error(`t.route: unknown field '${key}', expected one of ${[...ROUTE_KEYS].join(', ')}`);
  const sender = field(raw, 'sender', 'sender@example.com');
  const content = field(raw, 'content', `From: <${sender}>\r\nSubject: t.route\r\n\r\nhello\r\n`);
  const conn = isJsonObject(raw.conn_meta) ? raw.conn_meta : {};
  const meta: JsonObject = { ...(raw.via === 'smtp' || raw.via === undefined ? conn : {}), ...(isJsonObject(raw.meta) ? raw.meta : {}) };
  const msg = new Message({ sender, recipients: recipientsOf(raw), meta, data: new TextEncoder().encode(content), createdMs: clock.now() });

  const rejected = await receive(ctx, msg, raw);
  const result: JsonObject = { data: new TextDecoder().decode(msg.getData()), meta: msg.metaObject() };
  if (rejected) return { ...result, rejected };

  const queue = msg.queueName();
  const parts = parseQueueName(queue);
  const routing = parts.routingDomain ?? parts.domain;
  Object.assign(result, { queue, domain: parts.domain, tenant: parts.tenant, campaign: parts.campaign, routing_domain: parts.routingDomain });

  const configured = await fireEvent(ctx, 'get_queue_config', [parts.domain, parts.tenant, parts.campaign, parts.routingDomain]);
  const queueConfig = isJsonObject(configured) ? configured : {};
  const poolName = typeof queueConfig.egress_pool === 'string' ? queueConfig.egress_pool : 'unspecified';
  let entries: JsonValue[] = [{ name: 'unspecified', weight: 1 }];
  if (poolName !== 'unspecified') {
    const pool = await evalLua(ctx, `return require('kumo').invoke_get_egress_pool(${luaQuote(poolName)})`, `egress pool '${poolName}'`);
    entries = isJsonObject(pool) && Array.isArray(pool.entries) ? pool.entries : [];
  }
  const siteName = await siteNameFor(ctx, routing, queueConfig, typeof raw.site_name === 'string' ? raw.site_name : undefined);
  const sources: JsonObject[] = [];
  const paths: JsonObject = {};
  for (const entry of entries) {
    if (!isJsonObject(entry) || typeof entry.name !== 'string') continue;
    const name = entry.name;
    const source = name === 'unspecified' ? { name } : await evalLua(ctx, `return require('kumo').invoke_get_egress_source(${luaQuote(name)})`, `egress source '${name}'`);
    sources.push({ name, weight: entry.weight ?? 1, source });
    const path = await fireEvent(ctx, 'get_egress_path_config', [routing, name, siteName]);
    paths[name] = isJsonObject(path) ? path : {};
  }
  return { ...result, queue_config: queueConfig, egress_pool: poolName, egress_sources: sources, site_name: siteName, egress_paths: paths };
}
