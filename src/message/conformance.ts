/**
 * `msg:check_fix_conformance(checks, fixes, settings?)` (lua-api.md §11.3):
 * detect RFC 5322/2045 problems, report those listed in `checks`, repair
 * those listed in `fixes`. Repairs are byte splices on the original data, so
 * everything not being fixed stays byte-identical.
 */
import os from 'node:os';
import libqp from 'libqp';
import { encodeText } from '../lua/strings.ts';
import type { JsonValue } from '../util/json.ts';
import { concatBytes, headersNamed, type RawHeader } from './headers.ts';
import { foldHeaderText } from './header-codec.ts';
import { flattenParts, isLeaf, parseMimePart, type MimePart } from './mime-tree.ts';

export const CONFORMANCE_ISSUES = [
  'MISSING_COLON_VALUE',
  'NON_CANONICAL_LINE_ENDINGS',
  'NAME_ENDS_WITH_SPACE',
  'LINE_TOO_LONG',
  'NEEDS_TRANSFER_ENCODING',
  'MISSING_DATE_HEADER',
  'MISSING_MESSAGE_ID_HEADER',
  'MISSING_MIME_VERSION',
] as const;
export type ConformanceIssue = (typeof CONFORMANCE_ISSUES)[number];

export class ConformanceError extends Error {}

/** RFC 5322 §2.1.1: at most 998 characters per line, excluding CRLF. */
const MAX_LINE = 998;
const LF = 0x0a;
const CR = 0x0d;
const SETTINGS_KEYS = new Set(['message_id', 'detect_encoding', 'include_encodings', 'exclude_encodings']);

export function parseIssueSet(text: string, what: string): Set<ConformanceIssue> {
  const out = new Set<ConformanceIssue>();
  for (const raw of text.split('|')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!(CONFORMANCE_ISSUES as readonly string[]).includes(name)) {
      throw new ConformanceError(`check_fix_conformance: unknown conformance issue '${name}' in ${what}; expected one of ${CONFORMANCE_ISSUES.join(', ')}`);
    }
    out.add(name as ConformanceIssue);
  }
  return out;
}

export function hasNonCanonicalLineEndings(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) {
    if (data[i] === LF && (i === 0 || data[i - 1] !== CR)) return true;
    if (data[i] === CR && data[i + 1] !== LF) return true;
  }
  return false;
}

/** Bare LF and bare CR become CRLF. */
export function canonicalLineEndings(data: Uint8Array): Uint8Array {
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
  return Uint8Array.from(out);
}

export function longestLine(data: Uint8Array, from: number, to: number): number {
  let longest = 0;
  let lineStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || data[i] === LF) {
      let end = i;
      if (end > lineStart && data[end - 1] === CR) end--;
      longest = Math.max(longest, end - lineStart);
      lineStart = i + 1;
    }
  }
  return longest;
}

function hasEightBit(data: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i]! >= 0x80) return true;
  return false;
}

/** A leaf whose body must be re-encoded: 8-bit without a declared 8-bit encoding, or over-long lines. */
function leafNeeds(data: Uint8Array, part: MimePart): { eightBit: boolean; longLines: boolean } {
  const declared8 = part.transferEncoding === '8bit' || part.transferEncoding === 'binary';
  const encoded = part.transferEncoding === 'quoted-printable' || part.transferEncoding === 'base64';
  return {
    eightBit: !declared8 && !encoded && hasEightBit(data, part.bodyStart, part.bodyEnd),
    longLines: longestLine(data, part.bodyStart, part.bodyEnd) > MAX_LINE,
  };
}

function headerLength(data: Uint8Array, part: MimePart, h: RawHeader): number {
  return longestLine(data, part.start + h.start, part.start + h.end);
}

export function detectIssues(data: Uint8Array): Set<ConformanceIssue> {
  const issues = new Set<ConformanceIssue>();
  if (hasNonCanonicalLineEndings(data)) issues.add('NON_CANONICAL_LINE_ENDINGS');
  const root = parseMimePart(data, 0, data.length);
  for (const part of flattenParts(root)) {
    for (const h of part.block.headers) {
      if (h.colon < 0) issues.add('MISSING_COLON_VALUE');
      if (h.nameEndsWithSpace) issues.add('NAME_ENDS_WITH_SPACE');
      if (headerLength(data, part, h) > MAX_LINE) issues.add('LINE_TOO_LONG');
    }
    if (isLeaf(part)) {
      const needs = leafNeeds(data, part);
      if (needs.eightBit) issues.add('NEEDS_TRANSFER_ENCODING');
      if (needs.longLines) issues.add('LINE_TOO_LONG');
    }
  }
  if (headersNamed(root.block, 'Date').length === 0) issues.add('MISSING_DATE_HEADER');
  if (headersNamed(root.block, 'Message-ID').length === 0) issues.add('MISSING_MESSAGE_ID_HEADER');
  if (headersNamed(root.block, 'MIME-Version').length === 0) issues.add('MISSING_MIME_VERSION');
  return issues;
}

/** RFC 5322 date-time in UTC: `Tue, 01 Jul 2003 10:52:37 +0000`. */
export function rfc5322Date(ms: number): string {
  return `${new Date(ms).toUTCString().slice(0, 25)} +0000`;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const fromLatin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function wrapBase64(bytes: Uint8Array): string {
  return (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

interface Splice {
  start: number;
  end: number;
  bytes: Uint8Array;
}

interface FixContext {
  fixes: Set<ConformanceIssue>;
  data: Uint8Array;
  nowMs: number;
  messageId: string;
}

/** One header line group after the header-level fixes, or null to drop it. */
function fixedHeader(ctx: FixContext, part: MimePart, h: RawHeader): Uint8Array | null {
  if (h.colon < 0) return ctx.fixes.has('MISSING_COLON_VALUE') ? null : ctx.data.subarray(part.start + h.start, part.start + h.end);
  let text = latin1(ctx.data.subarray(part.start + h.start, part.start + h.end));
  if (h.nameEndsWithSpace && ctx.fixes.has('NAME_ENDS_WITH_SPACE')) text = text.replace(/^([^:]*?)[ \t]+:/, '$1:');
  if (ctx.fixes.has('LINE_TOO_LONG') && headerLength(ctx.data, part, h) > MAX_LINE) {
    const unfolded = text.replace(/\r?\n$/, '').replace(/\r?\n(?=[ \t])/g, '');
    text = `${foldHeaderText(unfolded)}\r\n`;
  }
  return fromLatin1(text);
}

function partSplices(ctx: FixContext, part: MimePart, isRoot: boolean, settings: Record<string, JsonValue>): Splice[] {
  const { data, fixes } = ctx;
  const leaf = isLeaf(part) ? leafNeeds(data, part) : { eightBit: false, longLines: false };
  const reencode = (leaf.eightBit && fixes.has('NEEDS_TRANSFER_ENCODING')) || (leaf.longLines && fixes.has('LINE_TOO_LONG'));
  const lines: Uint8Array[] = [];
  for (const h of part.block.headers) {
    if (reencode && h.colon >= 0 && h.name.toLowerCase() === 'content-transfer-encoding') continue;
    const fixed = fixedHeader(ctx, part, h);
    if (fixed) lines.push(fixed);
  }
  const textual = part.contentType.startsWith('text/');
  if (reencode) lines.push(encodeText(`Content-Transfer-Encoding: ${textual ? 'quoted-printable' : 'base64'}\r\n`));
  if (isRoot) {
    const missing = (n: string) => headersNamed(part.block, n).length === 0;
    if (fixes.has('MISSING_DATE_HEADER') && missing('Date')) lines.push(encodeText(`Date: ${rfc5322Date(ctx.nowMs)}\r\n`));
    if (fixes.has('MISSING_MESSAGE_ID_HEADER') && missing('Message-ID')) {
      const id = typeof settings.message_id === 'string' ? settings.message_id : `<${ctx.messageId}@${os.hostname()}>`;
      lines.push(encodeText(`Message-ID: ${id}\r\n`));
    }
    if (fixes.has('MISSING_MIME_VERSION') && missing('MIME-Version')) lines.push(encodeText('MIME-Version: 1.0\r\n'));
  }
  const splices: Splice[] = [];
  const headerBytes = concatBytes(lines);
  const original = data.subarray(part.start, part.start + part.block.headerEnd);
  if (Buffer.compare(Buffer.from(headerBytes), Buffer.from(original)) !== 0) {
    // A header block that had no blank line before the body gets one now.
    const needsSeparator = !part.block.hasSeparator && part.bodyStart < part.bodyEnd;
    splices.push({ start: part.start, end: part.start + part.block.headerEnd, bytes: needsSeparator ? concatBytes([headerBytes, encodeText('\r\n')]) : headerBytes });
  }
  if (reencode) {
    const body = data.subarray(part.bodyStart, part.bodyEnd);
    const endsWithNewline = body.length > 0 && body[body.length - 1] === LF;
    const encoded = textual ? libqp.wrap(libqp.encode(Buffer.from(body)), 76) : wrapBase64(body);
    splices.push({ start: part.bodyStart, end: part.bodyEnd, bytes: encodeText(endsWithNewline && !encoded.endsWith('\n') ? `${encoded}\r\n` : encoded) });
  }
  return splices;
}

function applySplices(data: Uint8Array, splices: Splice[]): Uint8Array {
  splices.sort((a, b) => a.start - b.start);
  const out: Uint8Array[] = [];
  let cursor = 0;
  for (const s of splices) {
    out.push(data.subarray(cursor, s.start), s.bytes);
    cursor = s.end;
  }
  out.push(data.subarray(cursor));
  return concatBytes(out);
}

export interface ConformanceRequest {
  checks: string;
  fixes: string;
  settings: JsonValue | null;
  nowMs: number;
  messageId: string;
}

export interface ConformanceOutcome {
  /** Text naming the checked issues found; undefined when none. */
  error?: string;
  /** Repaired data, undefined when nothing was changed. */
  data?: Uint8Array;
}

export function checkFixConformance(data: Uint8Array, req: ConformanceRequest): ConformanceOutcome {
  const checks = parseIssueSet(req.checks, 'checks');
  const fixes = parseIssueSet(req.fixes, 'fixes');
  const settings = (req.settings ?? {}) as Record<string, JsonValue>;
  if (typeof settings !== 'object' || Array.isArray(settings)) throw new ConformanceError('check_fix_conformance: settings must be a table');
  for (const k of Object.keys(settings)) if (!SETTINGS_KEYS.has(k)) throw new ConformanceError(`check_fix_conformance: unknown setting '${k}'`);

  const issues = detectIssues(data);
  const failed = CONFORMANCE_ISSUES.filter((i) => issues.has(i) && checks.has(i));
  if (failed.length > 0) return { error: `message has conformance issues: ${failed.join('|')}` };
  if (![...fixes].some((i) => issues.has(i))) return {};

  let fixed = fixes.has('NON_CANONICAL_LINE_ENDINGS') && issues.has('NON_CANONICAL_LINE_ENDINGS') ? canonicalLineEndings(data) : data;
  const ctx: FixContext = { fixes, data: fixed, nowMs: req.nowMs, messageId: req.messageId };
  const root = parseMimePart(fixed, 0, fixed.length);
  const splices = flattenParts(root).flatMap((p) => partSplices(ctx, p, p === root, settings));
  if (splices.length > 0) fixed = applySplices(fixed, splices);
  return fixed === data ? {} : { data: fixed };
}
