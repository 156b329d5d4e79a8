/**
 * `kumo.start_esmtp_listener{...}` options (engine.md §9.1), and the
 * per-session overrides: `via` (by local address), `peer` (by client
 * address) and `smtp_server_get_dynamic_parameters` (lua-api-more.md §8.2).
 */
import { parseDurationMs } from '../../logging/humantime.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../util/json.ts';
import { CidrSet, cidrOption, ListenerConfigError, listenOption, machineHostname, OptionReader } from '../options.ts';
import { keySourceOption, type KeySource } from '../tls.ts';
import type { TraceHeaderOptions } from '../trace-headers.ts';
import type { LineEndingPolicy } from './data-checks.ts';

/** Options that may differ per session. */
export interface EsmtpSessionConfig {
  hostname: string;
  banner: string;
  relayHosts: CidrSet;
  maxMessageSize: number;
  maxRecipientsPerMessage: number;
  maxMessagesPerConnection: number;
  deferredSpool: boolean;
  /** batch_handling = 'BatchByDomain': one message per recipient domain instead of per recipient. */
  batchByDomain: boolean;
  invalidLineEndings: LineEndingPolicy;
  lineLengthHardLimit: number;
  /** Bound on everything after the body arrived (policy events, queue resolution, spool, insert). */
  dataProcessingTimeoutMs: number;
  /** XCLIENT ADDR/PORT/DESTADDR/DESTPORT accepted (meant for a `peer` block of trusted hosts). */
  allowXclient: boolean;
  /** allow_plaintext_auth: AUTH PLAIN is offered and accepted before STARTTLS. */
  allowPlaintextAuth: boolean;
  /** Set in the connection meta when the session starts; overrides merge key by key. */
  meta: JsonObject;
  traceHeaders: TraceHeaderOptions;
}

/** A `via`/`peer` entry: the CIDR block it applies to and its raw override table. */
export interface OverrideEntry {
  match: CidrSet;
  text: string;
  overrides: JsonObject;
}

export interface EsmtpListenerConfig extends EsmtpSessionConfig {
  listen: { host: string; port: number; text: string };
  maxConnections: number;
  clientTimeoutMs: number;
  tlsCertificate?: KeySource;
  tlsPrivateKey?: KeySource;
  /** STARTTLS clients must present a certificate signed by this CA. */
  tlsRequiredClientCa?: KeySource;
  /** Every connection starts with a HAProxy PROXY (v1, text) header naming the real client. */
  requireProxyProtocol: boolean;
  via: OverrideEntry[];
  peer: OverrideEntry[];
}

/** Options KumoMTA has that kumo-lua accepts only at their default value. */
const DEFAULT_ONLY: Record<string, JsonValue> = {
  deferred_queue: false,
};

/** Options that apply to the whole listener (one socket, one smtp-server, one certificate). */
const LISTENER_WIDE = ['listen', 'tls_certificate', 'tls_private_key', 'tls_required_client_ca', 'max_connections', 'client_timeout', 'require_proxy_protocol', 'via', 'peer'];

/** Integer tuning knobs accepted and checked; kumo-lua has no use for them (smtp-server sizes its own buffers). */
const IGNORED_INTEGERS = ['data_buffer_size'];

function traceHeaders(r: OptionReader, base: TraceHeaderOptions): TraceHeaderOptions {
  const v = r.value('trace_headers');
  if (v === undefined) return base;
  if (!isJsonObject(v)) return r.fail('trace_headers', 'must be a table');
  const t = OptionReader.of('kumo.start_esmtp_listener: trace_headers', v);
  const out: TraceHeaderOptions = {
    receivedHeader: t.boolean('received_header', true),
    supplementalHeader: t.boolean('supplemental_header', true),
    headerName: t.string('header_name', 'X-KumoRef'),
    includeMetaNames: t.stringList('include_meta_names', []),
  };
  t.finish();
  return out;
}

function batchHandling(r: OptionReader, base: boolean): boolean {
  const v = r.optString('batch_handling');
  if (v === undefined) return base;
  if (v === 'BifurcateAlways') return false;
  if (v === 'BatchByDomain') return true;
  return r.fail('batch_handling', `must be 'BifurcateAlways' or 'BatchByDomain', got ${JSON.stringify(v)}`);
}

function lineEndings(r: OptionReader, base: LineEndingPolicy): LineEndingPolicy {
  const v = r.optString('invalid_line_endings');
  if (v === undefined) return base;
  if (v === 'Deny' || v === 'Allow' || v === 'Fix') return v;
  return r.fail('invalid_line_endings', `must be 'Deny', 'Allow' or 'Fix', got ${JSON.stringify(v)}`);
}

function duration(r: OptionReader, key: string, base: number): number {
  const v = r.value(key);
  if (v === undefined) return base;
  try {
    return parseDurationMs(key, typeof v === 'number' ? v : String(v));
  } catch (e) {
    return r.fail(key, (e as Error).message);
  }
}

function metaOption(r: OptionReader, base: JsonObject): JsonObject {
  const v = r.value('meta');
  if (v === undefined) return base;
  if (!isJsonObject(v) || Array.isArray(v)) return r.fail('meta', 'must be a table of metadata values');
  return { ...base, ...v };
}

function readSessionOptions(r: OptionReader, base: EsmtpSessionConfig): EsmtpSessionConfig {
  return {
    hostname: r.string('hostname', base.hostname),
    banner: r.string('banner', base.banner),
    relayHosts: r.value('relay_hosts') === undefined ? base.relayHosts : cidrOption(r, 'relay_hosts', []),
    maxMessageSize: r.integer('max_message_size', base.maxMessageSize),
    maxRecipientsPerMessage: r.integer('max_recipients_per_message', base.maxRecipientsPerMessage),
    maxMessagesPerConnection: r.integer('max_messages_per_connection', base.maxMessagesPerConnection),
    deferredSpool: r.boolean('deferred_spool', base.deferredSpool),
    batchByDomain: batchHandling(r, base.batchByDomain),
    invalidLineEndings: lineEndings(r, base.invalidLineEndings),
    lineLengthHardLimit: r.integer('line_length_hard_limit', base.lineLengthHardLimit),
    dataProcessingTimeoutMs: duration(r, 'data_processing_timeout', base.dataProcessingTimeoutMs),
    allowXclient: r.boolean('allow_xclient', base.allowXclient),
    allowPlaintextAuth: r.boolean('allow_plaintext_auth', base.allowPlaintextAuth),
    meta: metaOption(r, base.meta),
    traceHeaders: traceHeaders(r, base.traceHeaders),
  };
}

function checkDefaultOnly(r: OptionReader): void {
  for (const [key, def] of Object.entries(DEFAULT_ONLY)) {
    const v = r.value(key);
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(def)) {
      r.fail(key, `is not supported by kumo-lua (only ${JSON.stringify(def)} is)`);
    }
  }
  for (const key of IGNORED_INTEGERS) r.integer(key, 0);
}

/**
 * `session` with `overrides` applied (a `via`/`peer` entry or dynamic
 * parameters). Unknown keys and listener-wide options (listen, TLS
 * material, connection limits) are errors naming `where`.
 */
export function applySessionOverrides<T extends EsmtpSessionConfig>(session: T, overrides: JsonValue, where: string): T {
  const r = OptionReader.of(where, overrides);
  for (const key of LISTENER_WIDE) {
    if (r.value(key) !== undefined) r.fail(key, 'is listener-wide in kumo-lua and cannot be set per session');
  }
  const merged = { ...session, ...readSessionOptions(r, session) };
  checkDefaultOnly(r);
  r.finish();
  return merged;
}

function overrideEntries(r: OptionReader, key: 'via' | 'peer', defaults: EsmtpSessionConfig): OverrideEntry[] {
  const v = r.value(key);
  if (v === undefined) return [];
  if (!isJsonObject(v) || Array.isArray(v)) return r.fail(key, 'must be a table mapping CIDR blocks to option tables');
  return Object.entries(v).map(([cidr, overrides]) => {
    let match: CidrSet;
    try {
      match = new CidrSet([cidr], `option '${key}'`);
    } catch (e) {
      return r.fail(key, (e as Error).message.replace(/^option '[^']+': /, 'has an invalid key: '));
    }
    if (!isJsonObject(overrides) || Array.isArray(overrides)) return r.fail(key, `entry '${cidr}' must be a table of options`);
    // Validated now, applied per session.
    applySessionOverrides(defaults, overrides, `kumo.start_esmtp_listener: ${key}['${cidr}']`);
    return { match, text: cidr, overrides };
  });
}

export function parseEsmtpListenerConfig(value: JsonValue | undefined, where = 'kumo.start_esmtp_listener'): EsmtpListenerConfig {
  const r = OptionReader.of(where, value);
  const clientTimeoutMs = duration(r, 'client_timeout', 60_000);
  const session = readSessionOptions(r, {
    hostname: machineHostname(),
    banner: 'KumoMTA',
    relayHosts: new CidrSet(['127.0.0.1', '::1']),
    maxMessageSize: 20 * 1024 * 1024,
    maxRecipientsPerMessage: 1024,
    maxMessagesPerConnection: 10_000,
    deferredSpool: false,
    batchByDomain: false,
    invalidLineEndings: 'Deny',
    lineLengthHardLimit: 998,
    dataProcessingTimeoutMs: 300_000,
    allowXclient: false,
    allowPlaintextAuth: false,
    meta: {},
    traceHeaders: { receivedHeader: true, supplementalHeader: true, headerName: 'X-KumoRef', includeMetaNames: [] },
  });
  const config: EsmtpListenerConfig = {
    ...session,
    listen: listenOption(r, '127.0.0.1:2025'),
    maxConnections: r.integer('max_connections', 32_768),
    clientTimeoutMs,
    tlsCertificate: keySourceOption(r, 'tls_certificate'),
    tlsPrivateKey: keySourceOption(r, 'tls_private_key'),
    tlsRequiredClientCa: keySourceOption(r, 'tls_required_client_ca'),
    requireProxyProtocol: r.boolean('require_proxy_protocol', false),
    via: overrideEntries(r, 'via', session),
    peer: overrideEntries(r, 'peer', session),
  };
  checkDefaultOnly(r);
  r.finish();
  return config;
}

/** The configuration one session runs with: `via` matches of the local address, then `peer` matches of the client. */
export function sessionConfig(config: EsmtpListenerConfig, localIp: string, peerIp: string): EsmtpListenerConfig {
  let out = config;
  for (const e of config.via) if (e.match.contains(localIp)) out = applySessionOverrides(out, e.overrides, `via['${e.text}']`);
  for (const e of config.peer) if (e.match.contains(peerIp)) out = applySessionOverrides(out, e.overrides, `peer['${e.text}']`);
  return out;
}

export { ListenerConfigError };
