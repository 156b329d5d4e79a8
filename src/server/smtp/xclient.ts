/**
 * XCLIENT (Postfix's extension) when `allow_xclient` is on for the session:
 * ADDR/PORT replace the client address (`received_from`), DESTADDR/DESTPORT
 * the listener address (`received_via`); the session's options are then
 * evaluated again (`via`, `peer`, `smtp_server_get_dynamic_parameters`) and
 * the client starts over with a greeting, as after STARTTLS.
 */
import ipaddr from 'ipaddr.js';
import { formatSocketAddress } from '../options.ts';
import type { ConnectionHookDeps, SmtpConnectionInternals } from './connection-hooks.ts';
import type { SmtpSessionState } from './session-state.ts';

export const XCLIENT_ATTRIBUTES = ['ADDR', 'PORT', 'DESTADDR', 'DESTPORT'];

/** Postfix's placeholders for "not known": the attribute is left as it is. */
const UNKNOWN = new Set(['[UNAVAILABLE]', '[TEMPUNAVAIL]']);

/** xtext (RFC 3461): `+XX` is a hex-encoded byte. */
function xtextDecode(text: string): string {
  return text.replace(/\+([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function parseAddress(value: string): string | undefined {
  const ip = value.replace(/^IPV6:/i, '');
  return ipaddr.isValid(ip) ? ipaddr.process(ip).toString() : undefined;
}

function parsePort(value: string): number | undefined {
  const n = Number(value);
  return /^\d{1,5}$/.test(value) && n <= 65535 ? n : undefined;
}

/** Applies the attributes to `s` (all or none), or names the first bad one. */
function applyAttributes(s: SmtpSessionState, args: string[]): string | null {
  const next = { peerIp: s.peerIp, peerPort: s.peerPort, localIp: s.localIp, localPort: s.localPort };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) return `malformed XCLIENT attribute ${JSON.stringify(arg)}`;
    const name = arg.slice(0, eq).toUpperCase();
    const value = xtextDecode(arg.slice(eq + 1));
    if (!XCLIENT_ATTRIBUTES.includes(name) || UNKNOWN.has(value.toUpperCase())) continue;
    const parsed = name.endsWith('ADDR') ? parseAddress(value) : parsePort(value);
    if (parsed === undefined) return `invalid XCLIENT ${name} ${JSON.stringify(value)}`;
    if (name === 'ADDR') next.peerIp = parsed as string;
    else if (name === 'PORT') next.peerPort = parsed as number;
    else if (name === 'DESTADDR') next.localIp = parsed as string;
    else next.localPort = parsed as number;
  }
  // The addresses the socket really has stay visible (KumoMTA's orig_received_*).
  if (s.connMeta.get('orig_received_from') === undefined) {
    s.connMeta.set('orig_received_from', s.connMeta.get('received_from') ?? '');
    s.connMeta.set('orig_received_via', s.connMeta.get('received_via') ?? '');
  }
  Object.assign(s, next);
  s.localAddress = formatSocketAddress(s.localIp, s.localPort);
  s.connMeta.set('received_from', formatSocketAddress(s.peerIp, s.peerPort));
  s.connMeta.set('received_via', s.localAddress);
  return null;
}

export function xclient(
  conn: SmtpConnectionInternals,
  deps: ConnectionHookDeps,
  command: Buffer,
  callback: () => void,
  failure: (e: unknown, event: string) => void,
): void {
  const s = deps.stateOf(conn.id);
  if (!s) return callback();
  if (!s.config.allowXclient) {
    conn.send(550, '5.7.1 XCLIENT is not permitted');
    return callback();
  }
  if (conn.session.envelope?.mailFrom) {
    conn.send(503, '5.5.1 XCLIENT is not permitted inside a transaction');
    return callback();
  }
  const problem = applyAttributes(s, command.toString().trim().split(/\s+/).slice(1));
  if (problem) {
    conn.send(501, `5.5.4 ${problem}`);
    return callback();
  }
  deps
    .readdress(s)
    .then(() => {
      conn.hostNameAppearsAs = false;
      conn.openingCommand = false;
      conn._resetSession();
      s.ehloName = '';
      conn.send(220, `${s.config.hostname} ${s.config.banner}`);
    }, (e) => failure(e, 'smtp_server_get_dynamic_parameters'))
    .finally(callback);
}
