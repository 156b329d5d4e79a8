/**
 * `t.listener_domain{...}`: what the policy's get_listener_domain answers
 * for a sender and a recipient domain, and the relay decision a listener
 * makes from the two answers (lua-api-more §2.3) — decided by the SMTP
 * listener's own code, so the harness cannot drift from the server.
 */
import { ConnectionMeta } from '../server/smtp/conn-meta.ts';
import { askListenerDomain } from '../server/smtp/server-events.ts';
import { acceptsRecipient, domainOf, relayDecision } from '../server/smtp/listener-domain.ts';
import { CidrSet } from '../server/options.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import type { KumoContext } from '../kumo/context.ts';

const KEYS = new Set(['sender', 'recipient', 'peer', 'listener', 'conn_meta', 'relay_hosts']);

function str(spec: JsonObject, key: string, fallback: string): string {
  const v = spec[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`t.listener_domain: '${key}' must be a string`);
  return v;
}

function relayHostsOf(spec: JsonObject): CidrSet {
  const v = spec.relay_hosts ?? ['127.0.0.1', '::1'];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error("t.listener_domain: 'relay_hosts' must be a list of CIDR strings");
  return new CidrSet(v as string[], 'relay_hosts');
}

/** A bare domain is accepted where an address is expected. */
const domainOfAddressOrDomain = (text: string) => (text.includes('@') ? domainOf(text) : text);

export async function listenerDecision(ctx: KumoContext, raw: JsonValue | undefined): Promise<JsonObject> {
  if (!isJsonObject(raw)) throw new Error("t.listener_domain expects a table like { sender = 'a@example.com', recipient = 'b@example.net', peer = '10.0.0.1' }");
  for (const key of Object.keys(raw)) if (!KEYS.has(key)) throw new Error(`t.listener_domain: unknown field '${key}', expected one of ${[...KEYS].join(', ')}`);
  const peer = str(raw, 'peer', '127.0.0.1').replace(/^\[|\](:\d+)?$/g, '').replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1');
  const listener = str(raw, 'listener', '127.0.0.1:25');
  const relayHosts = relayHostsOf(raw);
  const connMeta = new ConnectionMeta({ received_from: `${peer}:40000`, received_via: listener, ...(isJsonObject(raw.conn_meta) ? raw.conn_meta : {}) }, peer);
  const senderEntry = await askListenerDomain(ctx.events, domainOfAddressOrDomain(str(raw, 'sender', 'sender@example.com')), listener, connMeta);
  const recipientEntry = await askListenerDomain(ctx.events, domainOfAddressOrDomain(str(raw, 'recipient', 'recipient@example.com')), listener, connMeta);
  const decision = relayDecision(peer, relayHosts.contains(peer), senderEntry, recipientEntry);
  return {
    sender_entry: senderEntry?.toJson() ?? null,
    recipient_entry: recipientEntry?.toJson() ?? null,
    relay: decision.relay,
    log_oob: decision.logOob,
    log_arf: decision.logArf,
    accepted: acceptsRecipient(decision),
  };
}
