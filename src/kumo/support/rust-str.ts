/**
 * Rust `str` splitting and replacing semantics (clients.md §7), which differ
 * from JS for empty patterns, limits and right-to-left scans.
 */

/** Start indices (UTF-16) of matches scanning left to right; an empty pattern matches at every char boundary. */
function forwardMatches(s: string, pat: string): number[] {
  const out: number[] = [];
  if (pat === '') {
    for (let i = 0; i < s.length; i += s.codePointAt(i)! > 0xffff ? 2 : 1) out.push(i);
    out.push(s.length);
    return out;
  }
  for (let i = s.indexOf(pat); i >= 0; i = s.indexOf(pat, i + pat.length)) out.push(i);
  return out;
}

/** Match start indices scanning right to left (non-overlapping from the right). */
function backwardMatches(s: string, pat: string): number[] {
  if (pat === '') return forwardMatches(s, pat).reverse();
  const out: number[] = [];
  let end = s.length;
  while (end >= pat.length) {
    const i = s.lastIndexOf(pat, end - pat.length);
    if (i < 0) break;
    out.push(i);
    end = i;
  }
  return out;
}

export function rustSplit(s: string, pat: string, limit = Infinity): string[] {
  if (limit === 0) return [];
  const pieces: string[] = [];
  let start = 0;
  for (const m of forwardMatches(s, pat)) {
    if (pieces.length === limit - 1) break;
    pieces.push(s.slice(start, m));
    start = m + pat.length;
  }
  pieces.push(s.slice(start));
  return pieces;
}

export function rustRsplit(s: string, pat: string, limit = Infinity): string[] {
  if (limit === 0) return [];
  const pieces: string[] = [];
  let end = s.length;
  for (const m of backwardMatches(s, pat)) {
    if (pieces.length === limit - 1) break;
    pieces.push(s.slice(m + pat.length, end));
    end = m;
  }
  pieces.push(s.slice(0, end));
  return pieces;
}

export function rustReplace(s: string, from: string, to: string, limit = Infinity): string {
  let out = '';
  let last = 0;
  let n = 0;
  for (const m of forwardMatches(s, from)) {
    if (n++ >= limit) break;
    out += s.slice(last, m) + to;
    last = m + from.length;
  }
  return out + s.slice(last);
}

const UNICODE_WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${UNICODE_WS}]+`);
const LEADING_WS = new RegExp(`^[${UNICODE_WS}]+`);
const TRAILING_WS = new RegExp(`[${UNICODE_WS}]+$`);

export const trimStart = (s: string) => s.replace(LEADING_WS, '');
export const trimEnd = (s: string) => s.replace(TRAILING_WS, '');
export const trim = (s: string) => trimEnd(trimStart(s));

export function splitWhitespace(s: string): string[] {
  return s.split(WS_RUN).filter((p) => p !== '');
}

export function splitAsciiWhitespace(s: string): string[] {
  return s.split(/[ \t\n\f\r]+/).filter((p) => p !== '');
}

const ASCII_WS = new Set([0x20, 0x09, 0x0a, 0x0c, 0x0d]);

/** Header folding on bytes (clients.md §7 `wrap`). */
export function wrapBytes(input: Uint8Array, soft: number, hard: number): Uint8Array {
  const words: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i <= input.length; i++) {
    const ws = i === input.length || ASCII_WS.has(input[i]!);
    if (ws && start >= 0) {
      words.push(input.subarray(start, i));
      start = -1;
    } else if (!ws && start < 0) start = i;
  }
  const result: number[] = [];
  let line: number[] = [];
  const emit = (l: number[]) => {
    if (result.length > 0) result.push(0x09);
    result.push(...l, 0x0d, 0x0a);
  };
  for (const word of words) {
    if (line.length + word.length < soft) {
      if (line.length > 0) line.push(0x20);
      line.push(...word);
      continue;
    }
    if (line.length > 0) emit(line);
    line = [];
    if (word.length <= hard) {
      line = [...word];
      continue;
    }
    for (const b of word) {
      line.push(b);
      if (line.length >= hard) {
        emit(line);
        line = [];
      }
    }
  }
  if (line.length > 0) {
    if (result.length > 0) result.push(0x09);
    result.push(...line);
  }
  let end = result.length;
  while (end > 0 && (ASCII_WS.has(result[end - 1]!) || result[end - 1] === 0x0b)) end--;
  return Uint8Array.from(result.slice(0, end));
}
