/**
 * Opening a connection to one candidate (smtp-delivery.md §3.2–3.5):
 * connect from the source address, the 220 greeting, EHLO, the TLS
 * decision and STARTTLS with KumoMTA's fallbacks, AUTH PLAIN. A failure
 * returns the per-candidate text of §4.7 and consumes the candidate.
 */
import { readFile } from 'node:fs/promises';
import { domainToASCII } from 'node:url';
import type tls from 'node:tls';
import type { ClientTimeouts } from '../../queue/egress-path-config.ts';
import type { Clock } from '../../util/clock.ts';
import { isIp } from './address.ts';
import { debugCandidate, type Candidate } from './mx-plan.ts';
import type { KeySource, SmtpPathOptions, TlsPolicy } from './path-options.ts';
import type { MtaStsMode } from './ports.ts';
import { debugReply, type SmtpReply } from './reply.ts';
import { SmtpClientError, SmtpSocket } from './socket.ts';

export interface SmtpConnection {
  sock: SmtpSocket;
  candidate: Candidate;
  port: number;
  extensions: Set<string>;
  /** Transactions on this connection (max_deliveries_per_connection). */
  deliveries: number;
  /** RSET before the next transaction (§3.6). */
  rsetNext: boolean;
}

export interface OpenRequest {
  candidate: Candidate;
  port: number;
  sourceAddress: string | undefined;
  ehloName: string;
  opts: SmtpPathOptions;
  timeouts: ClientTimeouts;
  clock: Clock;
  /** TLS was remembered broken for this ready queue (§2.2). */
  tlsBroken: boolean;
  /** MTA-STS mode of the route's MX resolution (§1.4); `None` for mx_list, literals and implicit MX. */
  mtaSts: MtaStsMode;
  redirect: ((ip: string, port: number) => { ip: string; port: number } | null) | null;
}

export type OpenFailureKind = 'unplumbed' | 'opportunistic-insecure' | 'other';

export type OpenResult =
  | { ok: true; conn: SmtpConnection }
  | { ok: false; text: string; kind: OpenFailureKind; retrySameCandidate?: boolean; rememberBrokenTls?: boolean };

function hostPort(c: Candidate, port: number): string {
  if (c.path) return c.path;
  return c.ip!.includes(':') ? `[${c.ip}]:${port}` : `${c.ip}:${port}`;
}

function rejected(r: SmtpReply): string {
  return `Command rejected ${debugReply({ ...r, command: null })}`;
}

function parseExtensions(reply: SmtpReply): Set<string> {
  const lines = reply.content.split('\n').slice(1);
  return new Set(lines.map((l) => l.split(' ')[0]!.toUpperCase()).filter((k) => k !== ''));
}

async function loadKey(src: KeySource): Promise<string> {
  return 'data' in src ? src.data : readFile(src.path, 'utf8');
}

/** Server name for SNI and verification: no port, brackets or trailing dot; A-labels; none for IPs. */
function serverName(c: Candidate): string | undefined {
  const name = c.name.replace(/\.$/, '');
  if (c.path || isIp(name) || name.startsWith('[')) return undefined;
  return domainToASCII(name) || name;
}

/**
 * §3.4 step 3: with `enable_mta_sts`, the domain's MTA-STS mode overrides
 * `enable_tls` — `Enforce` → `Required`, `Testing` → `OpportunisticInsecure`
 * (whatever was configured, KumoMTA's Appendix B #5). DANE (step 2) is not
 * provided, so no usable TLSA record ever skips this.
 */
export function effectiveTlsPolicy(configured: TlsPolicy, enableMtaSts: boolean, mtaSts: MtaStsMode): TlsPolicy {
  if (!enableMtaSts) return configured;
  if (mtaSts === 'Enforce') return 'Required';
  if (mtaSts === 'Testing') return 'OpportunisticInsecure';
  return configured;
}

export async function openConnection(req: OpenRequest): Promise<OpenResult> {
  const { candidate: c, port, opts, timeouts: t, clock } = req;
  const where = hostPort(c, port);
  const fail = (text: string, kind: OpenFailureKind = 'other', extra: Partial<Extract<OpenResult, { ok: false }>> = {}): OpenResult => ({ ok: false, text, kind, ...extra });
  let clientCert: { cert: string; key: string } | null = null;
  if (opts.tlsCertificate || opts.tlsPrivateKey) {
    try {
      clientCert = { cert: await loadKey(opts.tlsCertificate!), key: await loadKey(opts.tlsPrivateKey!) };
    } catch (err) {
      return fail(`Invalid client certificate configured: ${(err as Error).message}`);
    }
  }
  let sock: SmtpSocket;
  const target = c.ip ? req.redirect?.(c.ip, port) ?? { ip: c.ip, port } : { ip: null, port };
  try {
    sock = await SmtpSocket.connect({ ip: target.ip, port: target.port, ...(c.path ? { path: c.path } : {}), ...(req.sourceAddress && !c.path ? { localAddress: req.sourceAddress } : {}) }, t.connectTimeoutMs, clock);
  } catch (err) {
    const e = err as SmtpClientError;
    return fail(`connect to ${where} and read initial banner: ${e.message}`, e.code === 'EADDRNOTAVAIL' ? 'unplumbed' : 'other');
  }
  const abandon = (text: string, kind: OpenFailureKind = 'other', extra: Partial<Extract<OpenResult, { ok: false }>> = {}): OpenResult => {
    sock.destroy();
    return fail(text, kind, extra);
  };
  try {
    const banner = await sock.readReply(null, t.bannerTimeoutMs);
    if (banner.code !== 220) return abandon(`connect to ${where} and read initial banner: ${rejected(banner)}`);
  } catch (err) {
    return abandon(`connect to ${where} and read initial banner: reading banner: ${(err as Error).message}`);
  }
  const verb = opts.useLmtp ? 'LHLO' : 'EHLO';
  const ehlo = async (): Promise<Set<string>> => {
    const r = await sock.command(`${verb} ${req.ehloName}\r\n`, t.ehloTimeoutMs);
    if (r.code !== 250) throw new Error(rejected(r));
    return parseExtensions(r);
  };
  let extensions: Set<string>;
  try {
    extensions = await ehlo();
  } catch (err) {
    return abandon(`${where}: EHLO after banner: ${(err as Error).message}`);
  }

  const policy: TlsPolicy = effectiveTlsPolicy(opts.enableTls, opts.enableMtaSts, req.mtaSts);
  const advertised = extensions.has('STARTTLS');
  const required = policy === 'Required' || policy === 'RequiredInsecure';
  const insecure = policy === 'OpportunisticInsecure' || policy === 'RequiredInsecure';
  if (required && !advertised) return abandon(`tls policy is ${policy} but STARTTLS is not advertised by ${debugCandidate(c)}:${port}`);
  const useTls = policy !== 'Disabled' && advertised && (required || !req.tlsBroken);
  if (useTls) {
    try {
      const r = await sock.command('STARTTLS\r\n', t.starttlsTimeoutMs);
      if (r.code !== 220) return abandon(rejected(r));
    } catch (err) {
      return abandon((err as Error).message);
    }
    const tlsOptions: tls.ConnectionOptions = {
      rejectUnauthorized: !insecure,
      ...(serverName(c) ? { servername: serverName(c) } : {}),
      ...(clientCert ?? {}),
      ...(opts.opensslCipherList ? { ciphers: opts.opensslCipherList } : {}),
    };
    // Identity is checked against `host`: the DNS name, or the IP itself for IP candidates.
    if (c.ip) tlsOptions.host = serverName(c) ?? c.ip;
    try {
      await sock.startTls(tlsOptions, t.starttlsTimeoutMs);
    } catch (err) {
      const e = err as SmtpClientError;
      if (e.kind === 'read-timeout') return abandon(e.message);
      const reconnect = !required && opts.opportunisticTlsReconnectOnFailedHandshake;
      const remember = opts.rememberBrokenTlsMs !== null || opts.opportunisticTlsReconnectOnFailedHandshake;
      if (reconnect) return abandon(`TLS handshake failed: ${e.message}, will re-connect in the clear because opportunistic_tls_reconnect_on_failed_handshake=true`, 'other', { retrySameCandidate: true, rememberBrokenTls: true });
      if (policy === 'OpportunisticInsecure') {
        return abandon(`${c.name}/${c.ip ?? c.path}:${port}: EHLO after OpportunisticInsecure STARTTLS handshake status: failed: ${e.message}`, 'opportunistic-insecure', { rememberBrokenTls: remember });
      }
      return abandon(`TLS handshake with ${debugCandidate(c)}:${port} failed: ${e.message}`, 'other', { rememberBrokenTls: remember });
    }
    try {
      extensions = await ehlo();
    } catch (err) {
      const reconnect = !required && opts.opportunisticTlsReconnectOnFailedHandshake;
      if (reconnect) return abandon(`EHLO after STARTLS failed ${(err as Error).message}, will re-connect in the clear because opportunistic_tls_reconnect_on_failed_handshake=true`, 'other', { retrySameCandidate: true, rememberBrokenTls: true });
      return abandon(`${debugCandidate(c)}:${port}: EHLO after STARTTLS: ${(err as Error).message}`, 'other', { rememberBrokenTls: opts.rememberBrokenTlsMs !== null });
    }
  }
  if (opts.authUsername !== null) {
    const target = `${debugCandidate(c)}:${port}`;
    if (!sock.tls && !opts.allowAuthWithoutTls) return abandon(`TLS is not enabled and AUTH PLAIN is required. Skipping (${target})`);
    if (sock.tls && !sock.tlsVerified && !opts.allowAuthWithoutValidCertificate) {
      return abandon(`TLS peer certificate was not validated and AUTH PLAIN requires a valid certificate. Skipping (${target})`);
    }
    const password = opts.authPassword ? await loadKey(opts.authPassword).catch(() => '') : '';
    const token = Buffer.from(`\0${opts.authUsername}\0${password}`, 'utf8').toString('base64');
    try {
      const r = await sock.command(`AUTH PLAIN ${token}\r\n`, t.authTimeoutMs);
      if (r.code !== 235) return abandon(`authenticating as ${opts.authUsername} via SMTP AUTH PLAIN to ${target}: ${rejected(r)}`);
    } catch (err) {
      return abandon(`authenticating as ${opts.authUsername} via SMTP AUTH PLAIN to ${target}: ${(err as Error).message}`);
    }
  }
  return { ok: true, conn: { sock, candidate: c, port, extensions, deliveries: 0, rsetNext: false } };
}
