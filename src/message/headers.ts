/**
 * The header block of a message, handled as bytes so that 8-bit header
 * values, odd folding and the body survive every rewrite untouched. Only the
 * header *lines* are located here; RFC 2047 decoding and encoding go through
 * libmime (header-codec.ts).
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** One header as it sits in the data: `start..end` covers its lines including the final line break. */
export interface RawHeader {
  /** Field name as written (ASCII), without any whitespace before the colon. */
  name: string;
  start: number;
  end: number;
  /** Index of the colon; -1 for a line that has no colon (not a usable header). */
  colon: number;
  /** Whitespace between the name and the colon (`Subject : x`). */
  nameEndsWithSpace: boolean;
}

export interface HeaderBlock {
  /** Every header line group in order, including malformed ones (colon === -1). */
  headers: RawHeader[];
  /** Where the blank separator line starts (or data.length when there is none). */
  headerEnd: number;
  /** Where the body starts (just after the blank line), data.length when there is none. */
  bodyStart: number;
  hasSeparator: boolean;
}

function isWsp(b: number | undefined): boolean {
  return b === SP || b === HT;
}

/** ftext of RFC 5322: printable ASCII except the colon. */
function isFieldName(data: Uint8Array, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const b = data[i]!;
    if (b < 33 || b > 126 || b === COLON) return false;
  }
  return true;
}

function asciiName(data: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(data[i]!);
  return s;
}

/**
 * Splits the header block off the data. A line that is neither a header nor a
 * continuation is kept as a malformed entry (colon -1) so rewrites keep it.
 * Lines may end in CRLF or a bare LF.
 */
export function parseHeaderBlock(data: Uint8Array): HeaderBlock {
  const headers: RawHeader[] = [];
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(LF, pos);
    const next = lf < 0 ? data.length : lf + 1;
    const contentEnd = lf < 0 ? data.length : lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
    if (contentEnd === pos && lf >= 0) {
      return { headers, headerEnd: pos, bodyStart: next, hasSeparator: true };
    }
    const last = headers[headers.length - 1];
    if (isWsp(data[pos]) && last) {
      last.end = next;
      pos = next;
      continue;
    }
    const colonAt = data.subarray(pos, contentEnd).indexOf(COLON);
    let nameEnd = colonAt < 0 ? -1 : pos + colonAt;
    let endsWithSpace = false;
    if (nameEnd >= 0) {
      while (nameEnd > pos && isWsp(data[nameEnd - 1])) {
        nameEnd--;
        endsWithSpace = true;
      }
    }
    if (nameEnd >= 0 && isFieldName(data, pos, nameEnd)) {
      headers.push({ name: asciiName(data, pos, nameEnd), start: pos, end: next, colon: pos + colonAt, nameEndsWithSpace: endsWithSpace });
    } else {
      headers.push({ name: asciiName(data, pos, contentEnd), start: pos, end: next, colon: -1, nameEndsWithSpace: false });
    }
    pos = next;
  }
  return { headers, headerEnd: data.length, bodyStart: data.length, hasSeparator: false };
}

/** The bytes after the colon: leading whitespace and the final line break removed, folding kept. */
export function rawHeaderValue(data: Uint8Array, h: RawHeader): Uint8Array {
  let from = h.colon + 1;
  let to = h.end;
  if (to > from && data[to - 1] === LF) to--;
  if (to > from && data[to - 1] === CR) to--;
  while (from < to && isWsp(data[from])) from++;
  return data.subarray(from, to);
}

/** Usable headers named `name` (case-insensitive), in message order. */
export function headersNamed(block: HeaderBlock, name: string): RawHeader[] {
  const want = name.toLowerCase();
  return block.headers.filter((h) => h.colon >= 0 && h.name.toLowerCase() === want);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The data without the headers `drop` selects; undefined when nothing was
 * dropped (so callers do not mark the message dirty for nothing).
 */
export function withoutHeaders(data: Uint8Array, drop: (h: RawHeader) => boolean): Uint8Array | undefined {
  const block = parseHeaderBlock(data);
  const keep: Uint8Array[] = [];
  let cursor = 0;
  let dropped = false;
  for (const h of block.headers) {
    if (h.colon < 0 || !drop(h)) continue;
    keep.push(data.subarray(cursor, h.start));
    cursor = h.end;
    dropped = true;
  }
  if (!dropped) return undefined;
  keep.push(data.subarray(cursor));
  return concatBytes(keep);
}

export class HeaderBlockError extends Error {}

const CRLFCRLF = new Uint8Array([CR, LF, CR, LF]);

/** Inserts complete header line(s) just before the blank line that ends the header block. */
export function insertBeforeSeparator(data: Uint8Array, lines: Uint8Array): Uint8Array {
  const idx = Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(CRLFCRLF);
  if (idx < 0) throw new HeaderBlockError('could not find the end of the header block');
  return concatBytes([data.subarray(0, idx + 2), lines, data.subarray(idx + 2)]);
}

/** Puts complete header line(s) at the very start of the data. */
export function insertAtStart(data: Uint8Array, lines: Uint8Array): Uint8Array {
  return concatBytes([lines, data]);
}
