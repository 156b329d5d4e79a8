import type { Message } from '../message/message.ts';
import type { JsonObject } from '../util/json.ts';

/** Record types kumo-lua emits (log-record.md §5). */
export type RecordType =
  | 'Reception'
  | 'Delivery'
  | 'TransientFailure'
  | 'Bounce'
  | 'Expiration'
  | 'AdminBounce'
  | 'AdminRebind'
  | 'Delayed'
  | 'Rejection'
  | 'OOB'
  | 'Feedback';

export interface EnhancedCode {
  class: number;
  subject: number;
  detail: number;
}

/** The `response` object of a record (log-record.md §4.1). */
export interface RecordResponse {
  code: number;
  enhanced_code: EnhancedCode | null;
  content: string;
  command: string | null;
}

export interface PeerAddress {
  name: string;
  addr: string;
  is_secure?: true;
}

export interface TlsInfo {
  cipher: string;
  protocolVersion: string;
  peerSubjectName: string[];
}

/**
 * What a producer (listener, queue, dispatcher, admin API) knows about an
 * event. The record builder turns it into KumoMTA's JSON record; everything
 * else (timestamps, created, size, queue, meta/header capture) it derives.
 */
export interface RecordEvent {
  type: RecordType;
  /** The message the event is about; null only for Rejection. */
  message: Message | null;
  /** The recipients this outcome covers when not all of the message's (an SMTP slice or group). */
  recipients?: string[];
  response: RecordResponse;
  /** Ready-queue name for dispatcher records, "" otherwise (log-record.md §3). */
  site?: string;
  peerAddress?: PeerAddress | null;
  egressPool?: string | null;
  egressSource?: string | null;
  sourceAddress?: { address: string; server?: string; protocol?: string } | null;
  deliveryProtocol?: string | null;
  /** Defaults to the message's current attempt counter. */
  numAttempts?: number;
  /** Defaults to the message's queue name at logging time. */
  queue?: string;
  /** Defaults to the clock's now. */
  timestampMs?: number;
  tls?: TlsInfo;
  providerName?: string;
  sessionId?: string;
  /** Feedback only: the parsed ARF report, keys in log-record.md §4.8 order. */
  feedbackReport?: JsonObject | null;
  /** OOB only: the DSN's recipient (the original sender) and the reported recipient (log-record.md §5). */
  oob?: { sender: string; recipient: string };
  /** Rejection only: the transaction so far and the connection meta. */
  rejection?: { sender: string; recipient: string; connMeta: JsonObject };
}

/** Anything that accepts records: local logs, log hooks, test recorders. */
export interface RecordSink {
  log(event: RecordEvent): Promise<void>;
}
