/**
 * The MIME structure of a message as byte ranges, enough to find every part's
 * header block and leaf bodies (for check_fix_conformance). Content-Type
 * parameters are parsed by libmime; part bodies are never decoded here.
 */
import { libmime } from './libmime.ts';
import { decodeText } from '../lua/strings.ts';
import { headersNamed, parseHeaderBlock, rawHeaderValue, type HeaderBlock } from './headers.ts';

export interface MimePart {
  /** Absolute offset of the part's first header byte. */
  start: number;
  /** Header block, offsets relative to `start`. */
  block: HeaderBlock;
  /** Absolute body range. */
  bodyStart: number;
  bodyEnd: number;
  contentType: string;
  /** Content-Type parameters (charset, boundary, name ...), keys lower-cased. */
  contentTypeParams: Record<string, string>;
  /** Lower-cased Content-Transfer-Encoding, '' when absent. */
  transferEncoding: string;
  children: MimePart[];
}

const MAX_DEPTH = 16;
const LF = 0x0a;
const CR = 0x0d;

function headerText(data: Uint8Array, block: HeaderBlock, name: string): string | undefined {
  const h = headersNamed(block, name)[0];
  return h ? decodeText(rawHeaderValue(data, h)).replace(/\r?\n/g, '') : undefined;
}

interface Line {
  start: number;
  /** End of the content, before CR/LF. */
  contentEnd: number;
  /** Start of the next line. */
  next: number;
}

function* lines(data: Uint8Array, from: number, to: number): Generator<Line> {
  let pos = from;
  while (pos < to) {
    const lf = data.indexOf(LF, pos);
    const next = lf < 0 || lf >= to ? to : lf + 1;
    let contentEnd = lf < 0 || lf >= to ? to : lf;
    if (contentEnd > pos && data[contentEnd - 1] === CR) contentEnd--;
    yield { start: pos, contentEnd, next };
    pos = next;
  }
}

function matchesDelimiter(data: Uint8Array, line: Line, delimiter: Uint8Array): 'part' | 'close' | undefined {
  const len = line.contentEnd - line.start;
  if (len < delimiter.length) return undefined;
  for (let i = 0; i < delimiter.length; i++) if (data[line.start + i] !== delimiter[i]) return undefined;
  let rest = decodeText(data.subarray(line.start + delimiter.length, line.contentEnd));
  const close = rest.startsWith('--');
  if (close) rest = rest.slice(2);
  if (rest.trim() !== '') return undefined;
  return close ? 'close' : 'part';
}

/** Parses the part occupying data[start, end). */
export function parseMimePart(data: Uint8Array, start: number, end: number, depth = 0): MimePart {
  const view = data.subarray(start, end);
  const block = parseHeaderBlock(view);
  const ct = libmime().parseHeaderValue(headerText(view, block, 'Content-Type') ?? 'text/plain');
  const part: MimePart = {
    start,
    block,
    bodyStart: start + block.bodyStart,
    bodyEnd: end,
    contentType: ct.value.toLowerCase(),
    contentTypeParams: ct.params,
    transferEncoding: (headerText(view, block, 'Content-Transfer-Encoding') ?? '').trim().toLowerCase(),
    children: [],
  };
  const boundary = ct.params.boundary;
  if (!part.contentType.startsWith('multipart/') || !boundary || depth >= MAX_DEPTH) return part;
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  let childStart = -1;
  for (const line of lines(data, part.bodyStart, end)) {
    const kind = matchesDelimiter(data, line, delimiter);
    if (!kind) continue;
    if (childStart >= 0) {
      // The line break before a delimiter belongs to the delimiter.
      let childEnd = line.start;
      if (childEnd > childStart && data[childEnd - 1] === LF) childEnd--;
      if (childEnd > childStart && data[childEnd - 1] === CR) childEnd--;
      part.children.push(parseMimePart(data, childStart, Math.max(childStart, childEnd), depth + 1));
    }
    if (kind === 'close') break;
    childStart = line.next;
  }
  return part;
}

/** Every part, depth first, parents before children. */
export function flattenParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [root];
  for (const c of root.children) out.push(...flattenParts(c));
  return out;
}

export function isLeaf(part: MimePart): boolean {
  return part.children.length === 0 && !part.contentType.startsWith('multipart/');
}
