/**
 * RFC 1035 master-file text as the test resolver accepts it (lua-api-more §4.5):
 * `$ORIGIN`, `$TTL`, `@`, relative owners, a whitespace-led line reusing the
 * previous owner, an omitted TTL reusing the previous one, `;` comments and
 * `( … )` spanning lines. Only the record types policies use are understood;
 * anything else is a parse error naming the line.
 */
import { isIP } from 'node:net';
import { toFqdn, type DnsRecord, type RecordType } from './types.ts';

export interface ZoneRecord {
  owner: string;
  ttl: number;
  record: DnsRecord;
}

export interface ParsedZone {
  origin: string;
  records: ZoneRecord[];
}

export class ZoneParseError extends Error {}

interface Token {
  text: string;
  quoted: boolean;
}

interface LogicalLine {
  lineNo: number;
  /** The line began with whitespace: the owner is the previous one. */
  inheritsOwner: boolean;
  tokens: Token[];
}

/** Splits the text into logical lines, joining parenthesised continuations. */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: LogicalLine | null = null;
  let depth = 0;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (depth === 0) current = { lineNo: n + 1, inheritsOwner: /^[ \t]/.test(line), tokens: [] };
    let i = 0;
    while (i < line.length) {
      const c = line[i]!;
      if (c === ' ' || c === '\t') i++;
      else if (c === ';') break;
      else if (c === '(') { depth++; i++; }
      else if (c === ')') {
        if (depth === 0) throw new ZoneParseError(`line ${n + 1}: unbalanced ')'`);
        depth--;
        i++;
      } else if (c === '"') {
        let value = '';
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < line.length) {
            const digits = /^\d{3}/.exec(line.slice(i + 1));
            if (digits) { value += String.fromCharCode(Number(digits[0])); i += 4; continue; }
            i++;
          }
          value += line[i];
          i++;
        }
        if (i >= line.length) throw new ZoneParseError(`line ${n + 1}: unterminated quoted string`);
        i++;
        current!.tokens.push({ text: value, quoted: true });
      } else {
        const start = i;
        while (i < line.length && !' \t;()"'.includes(line[i]!)) i++;
        current!.tokens.push({ text: line.slice(start, i), quoted: false });
      }
    }
    if (depth === 0 && current && current.tokens.length > 0) out.push(current);
  }
  if (depth !== 0) throw new ZoneParseError(`line ${current?.lineNo ?? lines.length}: unbalanced '('`);
  return out;
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `300`, `1h`, `1h30m` → seconds; undefined when the token is not a TTL. */
function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:\d+[smhdw])+$/i.test(text) ? text.toLowerCase().match(/\d+[smhdw]/g) : null;
  if (!m) return undefined;
  return m.reduce((sum, part) => sum + Number(part.slice(0, -1)) * TTL_UNITS[part.slice(-1)]!, 0);
}

const CLASSES = new Set(['IN', 'CH', 'HS', 'CS']);
const TYPES = new Set<RecordType>(['A', 'AAAA', 'MX', 'TXT', 'PTR', 'CNAME', 'TLSA', 'NS', 'SOA']);

function absoluteName(text: string, origin: string, where: string): string {
  if (text === '@') return origin;
  if (text === '.') return '.';
  if (text.endsWith('.')) return text.toLowerCase();
  if (!origin) throw new ZoneParseError(`${where}: relative name ${JSON.stringify(text)} before $ORIGIN`);
  return `${text.toLowerCase()}.${origin}`;
}

function integer(text: string | undefined, max: number, what: string, where: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    throw new ZoneParseError(`${where}: bad ${what} ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

function parseRdata(type: RecordType, rdata: Token[], origin: string, where: string): DnsRecord {
  const words = rdata.map((t) => t.text);
  const need = (n: number) => {
    if (words.length !== n) throw new ZoneParseError(`${where}: ${type} expects ${n} field(s), got ${words.length}`);
  };
  switch (type) {
    case 'A':
    case 'AAAA': {
      need(1);
      const family = isIP(words[0]!);
      if (family !== (type === 'A' ? 4 : 6)) throw new ZoneParseError(`${where}: bad ${type} address ${JSON.stringify(words[0])}`);
      return { type, address: words[0]! };
    }
    case 'MX':
      need(2);
      return { type, preference: integer(words[0], 65535, 'MX preference', where), exchange: absoluteName(words[1]!, origin, where) };
    case 'TXT':
      if (words.length === 0) throw new ZoneParseError(`${where}: TXT needs at least one string`);
      return { type, strings: words };
    case 'PTR':
    case 'CNAME':
    case 'NS':
      need(1);
      return { type, name: absoluteName(words[0]!, origin, where) };
    case 'TLSA': {
      if (words.length < 4) throw new ZoneParseError(`${where}: TLSA expects usage, selector, matching type and data`);
      const data = words.slice(3).join('');
      if (!/^[0-9a-fA-F]*$/.test(data) || data.length % 2) throw new ZoneParseError(`${where}: TLSA data is not hex`);
      return {
        type, usage: integer(words[0], 255, 'TLSA usage', where), selector: integer(words[1], 255, 'TLSA selector', where),
        matchingType: integer(words[2], 255, 'TLSA matching type', where), data: data.toLowerCase(),
      };
    }
    case 'SOA':
      if (words.length !== 7) throw new ZoneParseError(`${where}: SOA expects 7 fields, got ${words.length}`);
      return { type, text: words.join(' ') };
  }
}

/** Parses one zone. The zone is keyed by its `$ORIGIN`, which must come first. */
export function parseZoneText(text: string): ParsedZone {
  let origin = '';
  let lastTtl: number | undefined;
  let lastOwner: string | undefined;
  const records: ZoneRecord[] = [];
  for (const line of logicalLines(text)) {
    const where = `line ${line.lineNo}`;
    const tokens = [...line.tokens];
    const first = tokens[0]!;
    if (!line.inheritsOwner && !first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      if (directive === '$ORIGIN') {
        if (tokens.length !== 2 || !tokens[1]!.text.endsWith('.')) throw new ZoneParseError(`${where}: $ORIGIN needs one absolute name`);
        origin = toFqdn(tokens[1]!.text);
      } else if (directive === '$TTL') {
        const ttl = tokens.length === 2 ? parseTtl(tokens[1]!.text) : undefined;
        if (ttl === undefined) throw new ZoneParseError(`${where}: bad $TTL`);
        // The directive and an explicit record TTL both become what later records without one reuse.
        lastTtl = ttl;
      } else {
        throw new ZoneParseError(`${where}: unsupported directive ${first.text}`);
      }
      continue;
    }
    if (!origin) throw new ZoneParseError(`${where}: the zone must start with $ORIGIN`);
    let owner: string;
    if (line.inheritsOwner) {
      if (lastOwner === undefined) throw new ZoneParseError(`${where}: a whitespace-led line needs a previous owner`);
      owner = lastOwner;
    } else {
      owner = absoluteName(tokens.shift()!.text, origin, where);
    }
    let ttl: number | undefined;
    // TTL and class may come in either order before the type.
    for (let k = 0; k < 2 && tokens.length > 0; k++) {
      const word = tokens[0]!.text;
      if (ttl === undefined && parseTtl(word) !== undefined) ttl = parseTtl(tokens.shift()!.text);
      else if (CLASSES.has(word.toUpperCase())) {
        if (word.toUpperCase() !== 'IN') throw new ZoneParseError(`${where}: only class IN is supported`);
        tokens.shift();
      }
    }
    const typeText = tokens.shift()?.text.toUpperCase();
    if (!typeText || !TYPES.has(typeText as RecordType)) {
      throw new ZoneParseError(`${where}: unsupported or missing record type ${JSON.stringify(typeText ?? '')}`);
    }
    ttl ??= lastTtl;
    if (ttl === undefined) throw new ZoneParseError(`${where}: no TTL given and no $TTL or earlier TTL to reuse`);
    const record = parseRdata(typeText as RecordType, tokens, origin, where);
    records.push({ owner, ttl, record });
    lastOwner = owner;
    lastTtl = ttl;
  }
  if (!origin) throw new ZoneParseError('the zone has no $ORIGIN');
  return { origin, records };
}
