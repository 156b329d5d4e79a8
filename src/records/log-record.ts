import type { JsonObject } from '../util/json.ts';
import type { EnhancedCode } from './types.ts';

/**
 * The structured form of a log record (log-record.md §3), with keys inserted
 * in serialisation order. It is what templates see, what a hook message
 * stores as `log_record` meta, and what disposition hooks receive.
 * Treat it as immutable: one instance is shared by every consumer of the event.
 */
export type LogRecord = {
  type: string;
  id: string;
  sender: string;
  recipient: string | string[];
  queue: string;
  site: string;
  size: number;
  response: { code: number; enhanced_code: EnhancedCode | null; content: string; command: string | null };
  peer_address: { name: string; addr: string; is_secure?: true } | null;
  timestamp: number;
  event_time: string;
  created: number;
  created_time: string;
  num_attempts: number;
  bounce_classification: string;
  egress_pool: string | null;
  egress_source: string | null;
  source_address: { address: string; server?: string; protocol?: string } | null;
  feedback_report: JsonObject | null;
  meta: JsonObject;
  headers: JsonObject;
  delivery_protocol: string | null;
  reception_protocol: string | null;
  nodeid: string;
  tls_cipher?: string;
  tls_protocol_version?: string;
  tls_peer_subject_name?: string[];
  provider_name?: string;
  session_id?: string;
};

/** The record as a JSON object (e.g. for `msg:set_meta('log_record', ...)`); no copy is made. */
export function recordAsJson(record: LogRecord): JsonObject {
  return record as unknown as JsonObject;
}

/** A record built for one capture configuration: the structure and its compact JSON line (no newline). */
export interface BuiltRecord {
  readonly record: LogRecord;
  readonly text: string;
}
