/**
 * `t.listener_domain{...}`: what the policy's get_listener_domain answers
 * for a sender and a recipient domain, and the relay decision a listener
 * makes from the two answers (lua-api-more §2.3).
 */
import ipaddr from 'ipaddr.js';
import { lua, type LuaState } from '../lua/fengari.ts';
import { pushText, keyBytes } from '../lua/strings.ts';
import { toJson } from '../lua/marshal.ts';
import { ConnectionMeta, ConnectionMetaClass } from '../server/smtp/conn-meta.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import type { KumoContext } from '../kumo/context.ts';

const KEYS = new Set(['sender', 'recipient', 'peer', 'listener', 'conn_meta', 'relay_hosts']);
const FIELDS = ['relay_to', 'relay_from', 'log_oob', 'log_arf'];

/** The ListenerDomain (userdata readable like a table, or a table) as JSON, or null for nil. */
function readEntry(co: LuaState, n: number): JsonValue {
  if (n === 0 || lua.lua_isnil(co, 1)) return null;
  const out: JsonObject = {};
  for (const key of FIELDS) {
    lua.lua_getfield(co, 1, keyBytes(key));
    const v = lua.lua_isnil(co, -1) ? undefined : toJson(co, -1);
    lua.lua_pop(co, 1);
    if (v !== undefined && v !== null) out[key] = v;
  }
  return out;
}

function inAny(ip: string, cidrs: JsonValue | undefined): boolean {
  if (!Array.isArray(cidrs)) return false;
  const addr = ipaddr.process(ip);
  return cidrs.some((c) => {
    if (typeof c !== 'string') return false;
    const range = c.includes('/') ? ipaddr.parseCIDR(c) : ([ipaddr.process(c), ipaddr.process(c).kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
    return addr.kind() === range[0].kind() && addr.match(range);
  });
}

const domainOf = (address: string) => (address.includes('@') ? address.slice(address.lastIndexOf('@') + 1) : address);

function str(spec: JsonObject, key: string, fallback: string): string {
  const v = spec[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`t.listener_domain: '${key}' must be a string`);
  return v;
}

export async function listenerDecision(ctx: KumoContext, raw: JsonValue | undefined): Promise<JsonObject> {
  if (!isJsonObject(raw)) throw new Error("t.listener_domain expects a table like { sender = 'a@example.com', recipient = 'b@example.net', peer = '10.0.0.1' }");
  for (const key of Object.keys(raw)) if (!KEYS.has(key)) throw new Error(`t.listener_domain: unknown field '${key}', expected one of ${[...KEYS].join(', ')}`);
  const peer = str(raw, 'peer', '127.0.0.1').replace(/^\[|\](:\d+)?$/g, '').replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1');
  const listener = str(raw, 'listener', '127.0.0.1:25');
  const connMeta = new ConnectionMeta({ received_from: `${peer}:40000`, received_via: listener, ...(isJsonObject(raw.conn_meta) ? raw.conn_meta : {}) }, peer);
  const ask = async (domain: string): Promise<JsonValue> => {
    const r = await ctx.events.dispatch(
      'get_listener_domain',
      (co) => {
        pushText(co, domain);
        pushText(co, listener);
        ConnectionMetaClass.push(co, connMeta);
        return 3;
      },
      readEntry,
    );
    return r.handled ? r.value : null;
  };
  const senderEntry = await ask(domainOf(str(raw, 'sender', 'sender@example.com')));
  const recipientEntry = await ask(domainOf(str(raw, 'recipient', 'recipient@example.com')));
  const relayHosts = raw.relay_hosts ?? ['127.0.0.1', '::1'];
  const relay =
    inAny(peer, relayHosts) ||
    (isJsonObject(senderEntry) && inAny(peer, senderEntry.relay_from)) ||
    (isJsonObject(recipientEntry) && recipientEntry.relay_to === true);
  const disposition = (key: string) => (isJsonObject(recipientEntry) && typeof recipientEntry[key] === 'string' ? (recipientEntry[key] as string) : 'Ignore');
  const logOob = disposition('log_oob');
  const logArf = disposition('log_arf');
  return {
    sender_entry: senderEntry,
    recipient_entry: recipientEntry,
    relay,
    log_oob: logOob,
    log_arf: logArf,
    accepted: relay || logOob !== 'Ignore' || logArf !== 'Ignore',
  };
}
