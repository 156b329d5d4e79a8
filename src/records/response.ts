import type { EnhancedCode, RecordResponse } from './types.ts';

/**
 * SMTP replies as log records show them (log-record.md §4.1): the status
 * code, the enhanced status code lifted off the first line, and the text with
 * every line break written as one space.
 */

export class ResponseParseError extends Error {}

const LINE_BREAKS = /\r\n|\r|\n/g;

/** Replaces each `\r\n`, lone `\r` or lone `\n` by a single space. */
export function foldLineBreaks(text: string): string {
  if (text.indexOf('\n') < 0 && text.indexOf('\r') < 0) return text;
  return text.replace(LINE_BREAKS, ' ');
}

const ENHANCED_PREFIX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3}) /;

/**
 * The `C.S.D ` prefix of a reply line, if it is one. Only classes 2, 4 and 5
 * exist; the prefix must be followed by a space (a bare `2.0.0` stays text).
 */
export function splitEnhancedCode(line: string): { code: EnhancedCode; prefix: string; rest: string } | null {
  const m = ENHANCED_PREFIX.exec(line);
  if (!m) return null;
  const cls = Number(m[1]);
  if (cls !== 2 && cls !== 4 && cls !== 5) return null;
  const prefix = m[0];
  return { code: { class: cls, subject: Number(m[2]), detail: Number(m[3]) }, prefix, rest: line.slice(prefix.length) };
}

/**
 * Builds a response from a status code and reply text that may span several
 * lines (as `kumo.reject(code, text)` or an SMTP reply body gives it). The
 * enhanced code is taken from the first line and the same prefix is removed
 * from the following lines.
 */
export function responseFromText(code: number, text: string, command: string | null = null): RecordResponse {
  const lines = text.split(LINE_BREAKS);
  const first = splitEnhancedCode(lines[0]!);
  if (first) {
    lines[0] = first.rest;
    for (let i = 1; i < lines.length; i++) {
      if (lines[i]!.startsWith(first.prefix)) lines[i] = lines[i]!.slice(first.prefix.length);
    }
  }
  return { code, enhanced_code: first ? first.code : null, content: lines.join(' '), command };
}

const REPLY_LINE = /^(\d{3})(?:([ -])(.*))?$/s;

/**
 * Parses the raw text of an SMTP reply, single or multi-line
 * (`250-first\r\n250 2.0.0 last`), into a record response. `command` is what
 * the reply answered (outbound: with its CRLF; inbound: without), or null.
 */
export function parseResponse(reply: string, command: string | null = null): RecordResponse {
  const raw = reply.replace(/(\r\n|\r|\n)$/, '').split(LINE_BREAKS);
  let code: number | null = null;
  const texts: string[] = [];
  for (const line of raw) {
    const m = REPLY_LINE.exec(line);
    if (!m) throw new ResponseParseError(`invalid SMTP reply line: ${JSON.stringify(line)}`);
    const lineCode = Number(m[1]);
    if (code === null) code = lineCode;
    else if (lineCode !== code) throw new ResponseParseError(`SMTP reply mixes codes ${code} and ${lineCode}`);
    texts.push(m[3] ?? '');
  }
  if (code === null) throw new ResponseParseError('empty SMTP reply');
  return responseFromText(code, texts.join('\n'), command);
}
