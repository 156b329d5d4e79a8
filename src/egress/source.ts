/**
 * `kumo.make_egress_source` (lua-api-more.md §1.1): a named outbound identity.
 * Parsed strictly once; the SMTP client reads the typed fields (local bind
 * address, EHLO name, port, proxy) from the source its ready queue was made for.
 */
import { isIP } from 'node:net';
import { ConfigError, StrictReader } from '../queue/config-reader.ts';
import { parseThrottleSpec, type ThrottleSpec } from '../queue/throttle.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import { durationToSerde, type SerdeDuration } from '../util/serde-duration.ts';

/** `host:port`, `ip:port` or `[v6]:port`; the host is resolved at connect time. */
export interface ProxyServer {
  host: string;
  port: number;
}

/** `{ trigger = 'Immediate' | { Threshold = 'N/period' }, duration }`. */
export interface SuspensionRule {
  trigger: 'Immediate' | { threshold: ThrottleSpec };
  durationMs: number;
}

/** KeySource as the JSON the policy wrote (clients.md §5); resolved when the password is needed. */
export type KeySourceJson = string | JsonObject;

export interface EgressSource {
  name: string;
  sourceAddress: string | null;
  ehloDomain: string | null;
  remotePort: number | null;
  haProxyServer: ProxyServer | null;
  haProxySourceAddress: string | null;
  socks5ProxyServer: ProxyServer | null;
  socks5ProxySourceAddress: string | null;
  socks5ProxyUsername: string | null;
  socks5ProxyPassword: KeySourceJson | null;
  suspendWhenUnplumbed: SuspensionRule | null;
  suspendWhenProxyUnhealthy: SuspensionRule | null;
  ttlMs: number;
}

export const DEFAULT_EGRESS_TTL_MS = 60_000;

const SOURCE_KEYS = [
  'name', 'source_address', 'ehlo_domain', 'remote_port', 'ha_proxy_server', 'ha_proxy_source_address',
  'socks5_proxy_server', 'socks5_proxy_source_address', 'socks5_proxy_username', 'socks5_proxy_password',
  'suspend_when_unplumbed', 'suspend_when_proxy_unhealthy', 'ttl',
] as const;

/** The built-in source every default pool uses; it never reaches Lua. */
export const UNSPECIFIED_SOURCE: EgressSource = Object.freeze({
  name: 'unspecified',
  sourceAddress: null,
  ehloDomain: null,
  remotePort: null,
  haProxyServer: null,
  haProxySourceAddress: null,
  socks5ProxyServer: null,
  socks5ProxySourceAddress: null,
  socks5ProxyUsername: null,
  socks5ProxyPassword: null,
  suspendWhenUnplumbed: null,
  suspendWhenProxyUnhealthy: null,
  ttlMs: DEFAULT_EGRESS_TTL_MS,
});

function ipAddress(r: StrictReader, key: string): string | null {
  const v = r.string(key);
  if (v === undefined) return null;
  if (isIP(v) === 0) throw new ConfigError(r.name(key), `invalid value for \`${r.name(key)}\`: ${JSON.stringify(v)} is not a valid IP address`);
  return v;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Checks `host:port` syntax the way KumoMTA does at construction (the port is mandatory). */
export function parseProxyServer(text: string, field: string): ProxyServer {
  const bad = (why: string) => new ConfigError(field, `invalid value for \`${field}\`: ${JSON.stringify(text)}: ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [ipv6]:port');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('a port is required (host:port)');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('IPv6 addresses must be written [addr]:port');
    if (isIP(host) === 0 && !HOST_NAME.test(host)) throw bad(`${JSON.stringify(host)} is not a valid host name`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad(`invalid port ${JSON.stringify(portText)}`);
  return { host, port: Number(portText) };
}

function proxyServer(r: StrictReader, key: string): ProxyServer | null {
  const v = r.string(key);
  return v === undefined ? null : parseProxyServer(v, r.name(key));
}

function suspensionRule(r: StrictReader, key: string): SuspensionRule | null {
  const obj = r.object(key);
  if (obj === undefined) return null;
  const rr = new StrictReader(obj, ['trigger', 'duration'], `${r.name(key)}.`);
  const durationMs = rr.durationMs('duration');
  if (durationMs === undefined) throw new ConfigError(rr.name('duration'), `missing field \`${rr.name('duration')}\``);
  const raw = rr.raw('trigger');
  let trigger: SuspensionRule['trigger'] = 'Immediate';
  if (raw === 'Immediate' || raw === undefined) trigger = 'Immediate';
  else if (isJsonObject(raw)) {
    const t = new StrictReader(raw, ['Threshold'], `${rr.name('trigger')}.`);
    const spec = t.requiredString('Threshold');
    try {
      trigger = { threshold: parseThrottleSpec(spec) };
    } catch (err) {
      throw new ConfigError(t.name('Threshold'), `\`${t.name('Threshold')}\`: ${(err as Error).message}`);
    }
  } else {
    throw new ConfigError(rr.name('trigger'), `unknown variant for \`${rr.name('trigger')}\`, expected \`Immediate\` or \`{ Threshold = 'N/period' }\``);
  }
  return { trigger, durationMs };
}

function keySource(r: StrictReader, key: string): KeySourceJson | null {
  const v = r.raw(key);
  if (v === undefined) return null;
  if (typeof v === 'string' || isJsonObject(v)) return v;
  throw new ConfigError(r.name(key), `data did not match any variant of untagged enum KeySource for \`${r.name(key)}\``);
}

export function parseEgressSource(obj: JsonObject): EgressSource {
  const r = new StrictReader(obj, SOURCE_KEYS);
  const remotePort = r.integer('remote_port');
  if (remotePort !== undefined && remotePort > 65535) {
    throw new ConfigError('remote_port', `invalid value for \`remote_port\`: integer \`${remotePort}\`, expected u16`);
  }
  return {
    name: r.requiredString('name'),
    sourceAddress: ipAddress(r, 'source_address'),
    ehloDomain: r.string('ehlo_domain') ?? null,
    remotePort: remotePort ?? null,
    haProxyServer: proxyServer(r, 'ha_proxy_server'),
    haProxySourceAddress: ipAddress(r, 'ha_proxy_source_address'),
    socks5ProxyServer: proxyServer(r, 'socks5_proxy_server'),
    socks5ProxySourceAddress: ipAddress(r, 'socks5_proxy_source_address'),
    socks5ProxyUsername: r.string('socks5_proxy_username') ?? null,
    socks5ProxyPassword: keySource(r, 'socks5_proxy_password'),
    suspendWhenUnplumbed: suspensionRule(r, 'suspend_when_unplumbed'),
    suspendWhenProxyUnhealthy: suspensionRule(r, 'suspend_when_proxy_unhealthy'),
    ttlMs: r.durationMs('ttl') ?? DEFAULT_EGRESS_TTL_MS,
  };
}

/** Which proxy the SMTP client must use: HAProxy wins when both are complete (§1.1). */
export function proxyOf(s: EgressSource): { kind: 'haproxy' | 'socks5'; server: ProxyServer; sourceAddress: string } | null {
  if (s.haProxyServer && s.haProxySourceAddress) return { kind: 'haproxy', server: s.haProxyServer, sourceAddress: s.haProxySourceAddress };
  if (s.socks5ProxyServer && s.socks5ProxySourceAddress) return { kind: 'socks5', server: s.socks5ProxyServer, sourceAddress: s.socks5ProxySourceAddress };
  return null;
}

function proxyText(p: ProxyServer | null): string | null {
  if (!p) return null;
  return isIP(p.host) === 6 ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}

function ruleJson(rule: SuspensionRule | null): JsonValue {
  if (!rule) return null;
  const duration: SerdeDuration = durationToSerde(rule.durationMs);
  return { trigger: rule.trigger === 'Immediate' ? 'Immediate' : { Threshold: rule.trigger.threshold.text }, duration };
}

/** The serialised definition `kumo.invoke_get_egress_source` returns (unset = null). */
export function egressSourceToJson(s: EgressSource): JsonObject {
  return {
    name: s.name,
    source_address: s.sourceAddress,
    ehlo_domain: s.ehloDomain,
    remote_port: s.remotePort,
    ha_proxy_server: proxyText(s.haProxyServer),
    ha_proxy_source_address: s.haProxySourceAddress,
    socks5_proxy_server: proxyText(s.socks5ProxyServer),
    socks5_proxy_source_address: s.socks5ProxySourceAddress,
    socks5_proxy_username: s.socks5ProxyUsername,
    socks5_proxy_password: s.socks5ProxyPassword,
    suspend_when_unplumbed: ruleJson(s.suspendWhenUnplumbed),
    suspend_when_proxy_unhealthy: ruleJson(s.suspendWhenProxyUnhealthy),
    ttl: durationToSerde(s.ttlMs),
  };
}
