/**
 * Checks on a received message body before any policy sees it (engine.md
 * §9.1): `invalid_line_endings` (bare CR or LF: refuse, keep, or turn into
 * CRLF) and `line_length_hard_limit`. The byte scans are the ones
 * `msg:check_fix_conformance` uses.
 */
import { canonicalLineEndings, hasNonCanonicalLineEndings, longestLine } from '../../message/conformance.ts';
import type { SmtpReply } from './server-events.ts';

export type LineEndingPolicy = 'Deny' | 'Allow' | 'Fix';

/** The body to receive (line endings fixed when asked), or the reply that refuses it. */
export function checkMessageData(data: Buffer, endings: LineEndingPolicy, lineLimit: number): Buffer | SmtpReply {
  const bare = hasNonCanonicalLineEndings(data);
  if (bare && endings === 'Deny') return { code: 552, text: '5.6.0 message data must use CRLF for line endings', close: false };
  if (longestLine(data, 0, data.length) > lineLimit) return { code: 500, text: '5.2.3 line too long', close: false };
  return bare && endings === 'Fix' ? Buffer.from(canonicalLineEndings(data)) : data;
}
