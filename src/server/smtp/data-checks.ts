/**
 * Checks on a received message body before any policy sees it (engine.md
 * §9.1): `invalid_line_endings` (bare CR or LF: refuse, keep, or turn into
 * CRLF) and `line_length_hard_limit`.
 */
import type { SmtpReply } from './server-events.ts';

export type LineEndingPolicy = 'Deny' | 'Allow' | 'Fix';

const CR = 0x0d;
const LF = 0x0a;

/** The body to receive (line endings fixed when asked), or the reply that refuses it. */
export function checkMessageData(data: Buffer, endings: LineEndingPolicy, lineLimit: number): Buffer | SmtpReply {
  let bare = false;
  let lineStart = 0;
  let longest = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === LF) {
      const crlf = i > 0 && data[i - 1] === CR;
      if (!crlf) bare = true;
      longest = Math.max(longest, i - lineStart - (crlf ? 1 : 0));
      lineStart = i + 1;
    } else if (b === CR && data[i + 1] !== LF) {
      bare = true;
    }
  }
  longest = Math.max(longest, data.length - lineStart);
  if (bare && endings === 'Deny') return { code: 552, text: '5.6.0 message data must use CRLF for line endings', close: false };
  if (longest > lineLimit) return { code: 500, text: '5.2.3 line too long', close: false };
  return bare && endings === 'Fix' ? toCrlf(data) : data;
}

/** Every bare CR or LF becomes CRLF. */
function toCrlf(data: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === CR) {
      out.push(CR, LF);
      if (data[i + 1] === LF) i++;
    } else if (b === LF) {
      out.push(CR, LF);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}
