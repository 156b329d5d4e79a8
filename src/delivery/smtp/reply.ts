/**
 * SMTP reply framing and parsing (smtp-delivery.md §3.8): CRLF lines, a
 * 4096-byte cap, one code per reply, the enhanced code from the first line
 * stripped wherever it is repeated.
 */
import type { EnhancedCode } from '../../records/types.ts';

export interface SmtpReply {
  code: number;
  enhanced: EnhancedCode | null;
  /** Lines joined with LF, without codes. */
  content: string;
  /** The exact command line(s) this answers, CRLF included; null for greetings. */
  command: string | null;
}

export const MAX_REPLY_LINE = 4096;

/** A reply that cannot be read: the socket is unusable afterwards. */
export class ReplyParseError extends Error {}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3}) /;

function parseReplyLines(lines: string[]): Omit<SmtpReply, 'command'> {
  let code = -1;
  const texts: string[] = [];
  for (const line of lines) {
    if (line.length < 3 || !/^\d{3}$/.test(line.slice(0, 3)) || (line.length > 3 && line[3] !== ' ' && line[3] !== '-')) {
      throw new ReplyParseError(`Malformed Response: ${line}`);
    }
    const c = Number(line.slice(0, 3));
    if (code >= 0 && c !== code) throw new ReplyParseError(`Malformed Response: ${line}`);
    code = c;
    texts.push(line.slice(4));
  }
  let enhanced: EnhancedCode | null = null;
  const m = ENHANCED.exec(texts[0] ?? '');
  if (m) {
    enhanced = { class: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) };
    const prefix = m[0];
    for (let i = 0; i < texts.length; i++) if (texts[i]!.startsWith(prefix)) texts[i] = texts[i]!.slice(prefix.length);
  }
  return { code, enhanced, content: texts.join('\n') };
}

/**
 * Accumulates socket bytes and yields complete replies. A reply is complete
 * at the first line whose fourth byte is not `-`.
 */
export class ReplyBuffer {
  private buf: Buffer = Buffer.alloc(0);
  private lines: string[] = [];

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** True when any unread byte is buffered (the reuse probe). */
  get hasData(): boolean {
    return this.buf.length > 0 || this.lines.length > 0;
  }

  /** The next complete reply, or null when more bytes are needed. Throws ReplyParseError. */
  next(): Omit<SmtpReply, 'command'> | null {
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf < 0) {
        if (this.buf.length > MAX_REPLY_LINE) throw new ReplyParseError('Response line is too long');
        return null;
      }
      if (lf > MAX_REPLY_LINE) throw new ReplyParseError('Response line is too long');
      const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
      const bytes = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(lf + 1);
      const line = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: false });
      this.lines.push(line);
      if (line.length < 4 || line[3] !== '-') {
        const lines = this.lines;
        this.lines = [];
        return parseReplyLines(lines);
      }
    }
  }
}

/** `<code> [<c.s.d> ]<content>` with each line break as one space (the rewrite event's input). */
export function replyLine(r: { code: number; enhanced: EnhancedCode | null; content: string }): string {
  const enh = r.enhanced ? `${r.enhanced.class}.${r.enhanced.subject}.${r.enhanced.detail} ` : '';
  return `${r.code} ${enh}${r.content.replace(/\r?\n/g, ' ')}`;
}

/** Rust's Debug of a Duration: `5s`, `1.5s`, `250ms`. */
export function debugDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return `${ms / 1000}s`;
}

/** Rust's Debug of the client's Response struct, as KumoMTA's "Command rejected" texts embed it. */
export function debugReply(r: SmtpReply): string {
  const enh = r.enhanced ? `Some(EnhancedStatusCode { class: ${r.enhanced.class}, subject: ${r.enhanced.subject}, detail: ${r.enhanced.detail} })` : 'None';
  return `Response { code: ${r.code}, enhanced_code: ${enh}, content: ${JSON.stringify(r.content)}, command: ${r.command === null ? 'None' : `Some(${JSON.stringify(r.command)})`} }`;
}
