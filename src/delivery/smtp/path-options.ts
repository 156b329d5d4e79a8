/**
 * The SMTP-client options of `kumo.make_egress_path` (smtp-delivery.md
 * §2.2–2.5), parsed once into types; bad values fail make_egress_path with
 * the key's name.
 */
import { isJsonObject, type JsonObject } from '../../util/json.ts';
import { ConfigError, StrictReader } from '../../queue/config-reader.ts';
import { CidrSet } from './address.ts';
import type { IpLookupStrategy } from './ports.ts';

export type TlsPolicy = 'Opportunistic' | 'OpportunisticInsecure' | 'Required' | 'RequiredInsecure' | 'Disabled';
export type ReconnectStrategy = 'ConnectNextHost' | 'ReconnectSameHost' | 'TerminateSession';

/** A PEM source: inline data or a file read when a connection needs it. */
export type KeySource = { data: string } | { path: string };

export interface SmtpPathOptions {
  enableTls: TlsPolicy;
  enableMtaSts: boolean;
  enableDane: boolean;
  enablePipelining: boolean;
  enableRset: boolean;
  smtpPort: number;
  ehloDomain: string | null;
  useLmtp: boolean;
  authUsername: string | null;
  authPassword: KeySource | null;
  allowAuthWithoutTls: boolean;
  allowAuthWithoutValidCertificate: boolean;
  maxRecipientsPerBatch: number;
  prohibitedHosts: CidrSet;
  skipHosts: CidrSet;
  ipLookupStrategy: IpLookupStrategy;
  rememberBrokenTlsMs: number | null;
  opportunisticTlsReconnectOnFailedHandshake: boolean;
  reconnectStrategy: ReconnectStrategy;
  tryNextHostOnTransportError: boolean;
  ignore8bitChecks: boolean;
  tlsCertificate: KeySource | null;
  tlsPrivateKey: KeySource | null;
  opensslCipherList: string | null;
  opensslCipherSuites: string | null;
}

export const SMTP_PATH_KEYS = [
  'enable_tls', 'enable_mta_sts', 'enable_dane', 'enable_pipelining', 'enable_rset', 'tls_prefer_openssl',
  'openssl_cipher_list', 'openssl_cipher_suites', 'openssl_options', 'rustls_cipher_suites', 'tls_certificate',
  'tls_private_key', 'smtp_port', 'smtp_auth_plain_username', 'smtp_auth_plain_password',
  'allow_smtp_auth_plain_without_tls', 'allow_smtp_auth_plain_without_valid_certificate', 'max_recipients_per_batch',
  'prohibited_hosts', 'skip_hosts', 'ehlo_domain', 'remember_broken_tls', 'opportunistic_tls_reconnect_on_failed_handshake',
  'use_lmtp', 'reconnect_strategy', 'try_next_host_on_transport_error', 'ignore_8bit_checks', 'smtputf8_transport',
  'ip_lookup_strategy',
] as const;

const TLS_POLICIES: readonly TlsPolicy[] = ['Opportunistic', 'OpportunisticInsecure', 'Required', 'RequiredInsecure', 'Disabled'];
const RECONNECT: readonly ReconnectStrategy[] = ['ConnectNextHost', 'ReconnectSameHost', 'TerminateSession'];
const LOOKUP: readonly IpLookupStrategy[] = ['Ipv4AndIpv6', 'Ipv4Only', 'Ipv6Only', 'Ipv4ThenIpv6', 'Ipv6ThenIpv4'];
export const DEFAULT_PROHIBITED_HOSTS = ['127.0.0.0/8', '::1', '0.0.0.0', '::'];

function keySource(r: StrictReader, key: string): KeySource | null {
  const v = r.raw(key);
  if (v === undefined) return null;
  if (typeof v === 'string') return { path: v };
  if (isJsonObject(v)) {
    if (typeof v.key_data === 'string') return { data: v.key_data };
    if (typeof v.path === 'string') return { path: v.path };
  }
  throw new ConfigError(key, `invalid value for \`${key}\`: expected a file path or a table { key_data = "..." } / { path = "..." }`);
}

function cidrs(r: StrictReader, key: string, dflt: readonly string[]): CidrSet {
  const items = r.array(key);
  if (items === undefined) return new CidrSet(dflt, key);
  if (!items.every((x) => typeof x === 'string')) throw new ConfigError(key, `invalid type for \`${key}\`: expected a list of CIDR strings`);
  try {
    return new CidrSet(items as string[], key);
  } catch (err) {
    throw new ConfigError(key, (err as Error).message);
  }
}

const OPENSSL_OPTION = /^[A-Z][A-Z0-9_]*$/;

/** Reads the SMTP keys of a make_egress_path table (the caller already rejected unknown keys). */
export function parseSmtpPathOptions(obj: JsonObject): SmtpPathOptions {
  const picked: JsonObject = {};
  for (const key of SMTP_PATH_KEYS) if (obj[key] !== undefined) picked[key] = obj[key]!;
  const r = new StrictReader(picked, SMTP_PATH_KEYS);
  const port = r.integer('smtp_port', 1) ?? 25;
  if (port > 65535) throw new ConfigError('smtp_port', `invalid value for \`smtp_port\`: integer \`${port}\`, expected u16`);
  const options = r.string('openssl_options');
  if (options !== undefined) {
    for (const name of options.split('|').map((s) => s.trim())) {
      if (!OPENSSL_OPTION.test(name)) throw new ConfigError('openssl_options', `\`openssl_options\`: ${JSON.stringify(name)} is not a valid SslOptions name`);
    }
  }
  const rustls = r.array('rustls_cipher_suites');
  if (rustls && !rustls.every((x) => typeof x === 'string' && /^TLS\d*_[A-Z0-9_]+$/.test(x))) {
    const bad = rustls.find((x) => typeof x !== 'string' || !/^TLS\d*_[A-Z0-9_]+$/.test(x));
    throw new ConfigError('rustls_cipher_suites', `\`${String(bad)}\` is not a valid rustls cipher suite`);
  }
  r.bool('tls_prefer_openssl');
  r.bool('smtputf8_transport');
  return {
    enableTls: r.oneOf('enable_tls', TLS_POLICIES) ?? 'Opportunistic',
    enableMtaSts: r.bool('enable_mta_sts') ?? true,
    enableDane: r.bool('enable_dane') ?? false,
    enablePipelining: r.bool('enable_pipelining') ?? true,
    enableRset: r.bool('enable_rset') ?? true,
    smtpPort: port,
    ehloDomain: r.string('ehlo_domain') ?? null,
    useLmtp: r.bool('use_lmtp') ?? false,
    authUsername: r.string('smtp_auth_plain_username') ?? null,
    authPassword: keySource(r, 'smtp_auth_plain_password'),
    allowAuthWithoutTls: r.bool('allow_smtp_auth_plain_without_tls') ?? false,
    allowAuthWithoutValidCertificate: r.bool('allow_smtp_auth_plain_without_valid_certificate') ?? false,
    maxRecipientsPerBatch: r.integer('max_recipients_per_batch', 1) ?? 100,
    prohibitedHosts: cidrs(r, 'prohibited_hosts', DEFAULT_PROHIBITED_HOSTS),
    skipHosts: cidrs(r, 'skip_hosts', []),
    ipLookupStrategy: r.oneOf('ip_lookup_strategy', LOOKUP) ?? 'Ipv4AndIpv6',
    rememberBrokenTlsMs: r.durationMs('remember_broken_tls') ?? null,
    opportunisticTlsReconnectOnFailedHandshake: r.bool('opportunistic_tls_reconnect_on_failed_handshake') ?? false,
    reconnectStrategy: r.oneOf('reconnect_strategy', RECONNECT) ?? 'ConnectNextHost',
    tryNextHostOnTransportError: r.bool('try_next_host_on_transport_error') ?? false,
    ignore8bitChecks: r.bool('ignore_8bit_checks') ?? false,
    tlsCertificate: keySource(r, 'tls_certificate'),
    tlsPrivateKey: keySource(r, 'tls_private_key'),
    opensslCipherList: r.string('openssl_cipher_list') ?? null,
    opensslCipherSuites: r.string('openssl_cipher_suites') ?? null,
  };
}
