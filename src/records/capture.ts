import { decodeWords } from 'postal-mime';
import type { JsonObject, JsonValue } from '../util/json.ts';

/**
 * What one logger copies into its records (lua-api.md §4.1, §4.2). Names
 * ending in `*` are prefix patterns: case-sensitive for meta,
 * case-insensitive for headers.
 */
export interface CaptureSpec {
  readonly meta: readonly string[];
  readonly headers: readonly string[];
}

interface Pattern {
  /** Exact name, or the prefix when `isPrefix`. Lower-cased for headers. */
  text: string;
  isPrefix: boolean;
}

/** A CaptureSpec prepared once per logger; `key` identifies equal specs so records can be shared. */
export class CompiledCapture {
  readonly key: string;
  readonly wantsHeaders: boolean;
  private readonly metaPatterns: Pattern[];
  private readonly headerPatterns: Pattern[];

  constructor(spec: CaptureSpec) {
    this.key = JSON.stringify([spec.meta, spec.headers]);
    this.metaPatterns = spec.meta.map((name) => toPattern(name, false));
    this.headerPatterns = spec.headers.map((name) => toPattern(name, true));
    this.wantsHeaders = this.headerPatterns.length > 0;
  }

  isEmpty(): boolean {
    return this.metaPatterns.length === 0 && this.headerPatterns.length === 0;
  }

  /** Copies the configured meta keys; exact names skip null values, prefixes keep them. */
  captureMeta(source: JsonObject): JsonObject {
    const out: JsonObject = {};
    for (const p of this.metaPatterns) {
      if (!p.isPrefix) {
        const v = source[p.text];
        if (v !== undefined && v !== null) out[p.text] = v;
        continue;
      }
      for (const key of Object.keys(source)) {
        if (key.startsWith(p.text)) out[key] = source[key]!;
      }
    }
    return out;
  }

  /** Picks header groups; each group is captured once even if several patterns match it. */
  captureHeaders(groups: readonly HeaderGroup[]): JsonObject {
    const out: JsonObject = {};
    if (groups.length === 0) return out;
    const taken = new Set<HeaderGroup>();
    const take = (g: HeaderGroup) => {
      taken.add(g);
      out[g.name] = g.values.length === 1 ? g.values[0]! : (g.values.slice() as JsonValue[]);
    };
    for (const p of this.headerPatterns) {
      for (const g of groups) {
        if (taken.has(g)) continue;
        if (p.isPrefix ? g.lower.startsWith(p.text) : g.lower === p.text) {
          take(g);
          if (!p.isPrefix) break;
        }
      }
    }
    return out;
  }
}

function toPattern(name: string, foldCase: boolean): Pattern {
  const isPrefix = name.endsWith('*');
  const text = isPrefix ? name.slice(0, -1) : name;
  return { text: foldCase ? text.toLowerCase() : text, isPrefix };
}

/** All occurrences of one header name: spelling of the first, decoded values in order. */
export interface HeaderGroup {
  lower: string;
  name: string;
  values: string[];
}

/** Length of the header block: up to (not including) the first empty line. */
function headerBlockLength(buf: Buffer): number {
  const lf = buf.indexOf('\n\n');
  const crlf = buf.indexOf('\n\r\n');
  if (lf < 0 && crlf < 0) return buf.length;
  if (lf < 0) return crlf + 1;
  if (crlf < 0) return lf + 1;
  return Math.min(lf, crlf) + 1;
}

/**
 * Splits a message's header block into groups keyed by lower-cased name.
 * Folded lines are unfolded (the line break removed, the whitespace kept);
 * values are RFC 2047-decoded by postal-mime's decoder, bytes read as UTF-8
 * lossily. Lines that are not `name: value` are skipped.
 */
export function parseHeaderGroups(data: Uint8Array): HeaderGroup[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Buffer's UTF-8 decoding replaces invalid sequences with U+FFFD, like a lossy conversion.
  const text = buf.toString('utf8', 0, headerBlockLength(buf));
  const fields: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l === '') continue;
    if ((l[0] === ' ' || l[0] === '\t') && fields.length > 0) fields[fields.length - 1] += l;
    else fields.push(l);
  }
  const byName = new Map<string, HeaderGroup>();
  const groups: HeaderGroup[] = [];
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim();
    if (name === '' || /\s/.test(name)) continue;
    const raw = field.slice(colon + 1).trim();
    const value = raw.includes('=?') ? decodeWords(raw) : raw;
    const lower = name.toLowerCase();
    let g = byName.get(lower);
    if (!g) {
      g = { lower, name, values: [] };
      byName.set(lower, g);
      groups.push(g);
    }
    g.values.push(value);
  }
  return groups;
}
