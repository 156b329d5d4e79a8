/** What kumo-lua keeps per SMTP connection, next to smtp-server's own session. */
import type { TlsInfo } from '../../records/types.ts';
import type { EsmtpListenerConfig } from './config.ts';
import type { ConnectionMeta } from './conn-meta.ts';
import type { ListenerDomainCache } from './listener-domain.ts';

export interface SmtpSessionState {
  sessionId: string;
  connMeta: ConnectionMeta;
  peerIp: string;
  peerPort: number;
  /** "ip:port" of the listener socket (the concrete local address). */
  localAddress: string;
  localIp: string;
  localPort: number;
  ehloName: string;
  tls: TlsInfo | undefined;
  /** The listener options for this session: `peer`/`via` overrides and dynamic parameters applied. */
  config: EsmtpListenerConfig;
  /** `get_listener_domain` answers of this session. */
  domains: ListenerDomainCache;
  /** RCPTs accepted on this connection (max_messages_per_connection). */
  acceptedRecipients: number;
  authenticated: boolean;
  /** The client line the next reply answers (Rejection records, rewrite_response); null for unsolicited replies. */
  command: string | null;
  /** One-shot: what the next Rejection record shows as its command (see SmtpReply.recordCommand). */
  recordCommand: string | null;
  /** The next reply answers the message body (the command shows as "DATA"). */
  afterData: boolean;
}
