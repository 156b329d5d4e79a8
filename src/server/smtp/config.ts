/** `kumo.start_esmtp_listener{...}` options (engine.md §9.1). */
import { parseDurationMs } from '../../logging/humantime.ts';
import { isJsonObject, type JsonValue } from '../../util/json.ts';
import { cidrOption, listenOption, machineHostname, OptionReader, type CidrSet } from '../options.ts';
import { keySourceOption, type KeySource } from '../tls.ts';
import type { TraceHeaderOptions } from '../trace-headers.ts';

export interface EsmtpListenerConfig {
  listen: { host: string; port: number; text: string };
  hostname: string;
  banner: string;
  relayHosts: CidrSet;
  maxMessageSize: number;
  maxRecipientsPerMessage: number;
  maxMessagesPerConnection: number;
  maxConnections: number;
  clientTimeoutMs: number;
  deferredSpool: boolean;
  tlsCertificate?: KeySource;
  tlsPrivateKey?: KeySource;
  traceHeaders: TraceHeaderOptions;
}

/** Options KumoMTA has that kumo-lua accepts only at their default value. */
const DEFAULT_ONLY: Record<string, JsonValue> = {
  deferred_queue: false,
  batch_handling: 'BifurcateAlways',
  invalid_line_endings: 'Deny',
  allow_xclient: false,
  require_proxy_protocol: false,
};

/** Accepted for compatibility; kumo-lua does not act on them. */
const IGNORED = ['data_processing_timeout', 'line_length_hard_limit', 'data_buffer_size'];

function traceHeaders(r: OptionReader): TraceHeaderOptions {
  const v = r.value('trace_headers');
  const out: TraceHeaderOptions = { receivedHeader: true, supplementalHeader: true, headerName: 'X-KumoRef', includeMetaNames: [] };
  if (v === undefined) return out;
  if (!isJsonObject(v)) return r.fail('trace_headers', 'must be a table');
  const t = OptionReader.of('kumo.start_esmtp_listener: trace_headers', v);
  out.receivedHeader = t.boolean('received_header', true);
  out.supplementalHeader = t.boolean('supplemental_header', true);
  out.headerName = t.string('header_name', 'X-KumoRef');
  out.includeMetaNames = t.stringList('include_meta_names', []);
  t.finish();
  return out;
}

export function parseEsmtpListenerConfig(value: JsonValue | undefined, where = 'kumo.start_esmtp_listener'): EsmtpListenerConfig {
  const r = OptionReader.of(where, value);
  let clientTimeoutMs = 60_000;
  const timeout = r.value('client_timeout');
  if (timeout !== undefined) {
    try {
      clientTimeoutMs = parseDurationMs('client_timeout', typeof timeout === 'number' ? timeout : String(timeout));
    } catch (e) {
      r.fail('client_timeout', (e as Error).message);
    }
  }
  const config: EsmtpListenerConfig = {
    listen: listenOption(r, '127.0.0.1:2025'),
    hostname: r.string('hostname', machineHostname()),
    banner: r.string('banner', 'KumoMTA'),
    relayHosts: cidrOption(r, 'relay_hosts', ['127.0.0.1', '::1']),
    maxMessageSize: r.integer('max_message_size', 20 * 1024 * 1024),
    maxRecipientsPerMessage: r.integer('max_recipients_per_message', 1024),
    maxMessagesPerConnection: r.integer('max_messages_per_connection', 10_000),
    maxConnections: r.integer('max_connections', 32_768),
    clientTimeoutMs,
    deferredSpool: r.boolean('deferred_spool', false),
    tlsCertificate: keySourceOption(r, 'tls_certificate'),
    tlsPrivateKey: keySourceOption(r, 'tls_private_key'),
    traceHeaders: traceHeaders(r),
  };
  for (const [key, def] of Object.entries(DEFAULT_ONLY)) {
    const v = r.value(key);
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(def)) {
      r.fail(key, `is not supported by kumo-lua (only ${JSON.stringify(def)} is)`);
    }
  }
  for (const key of IGNORED) r.value(key);
  r.finish();
  return config;
}
