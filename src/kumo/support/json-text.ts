/**
 * JSON text for kumo.serde: a writer over ordered serde trees (compact in Lua
 * iteration order, or pretty with keys sorted bytewise as serde_json's Value
 * map does) and a strict parser with serde_json's rules and messages
 * (clients.md §6.1, §6.2).
 */
import { JsonFloat, compareUtf8, toJsonText, type JsonValue } from '../../util/json.ts';

export { compareUtf8 };
import { SerdeBytes, SerdeObject, type SerdeValue } from './lua-value.ts';

/** Sorted, de-duplicated entries (a later duplicate replaces the earlier value). */
export function sortedEntries(obj: SerdeObject): [string, SerdeValue][] {
  const map = new Map<string, SerdeValue>();
  for (const [k, v] of obj.entries) map.set(k, v);
  return [...map.entries()].sort((a, b) => compareUtf8(a[0], b[0]));
}

/** Compact in Lua iteration order, or pretty with keys sorted, through the shared JSON writer. */
export function writeJson(value: SerdeValue, pretty: boolean): string {
  return toJsonText(value as JsonValue, {
    pretty,
    objectEntries: (node) => (node instanceof SerdeObject ? (pretty ? sortedEntries(node) : node.entries) : undefined),
    mapValue: (node) => (node instanceof SerdeBytes ? Array.from(node.bytes) : node),
  });
}

export class JsonSyntaxError extends Error {}

/**
 * Blanks out `/* *\/`, `//` and `#` comments outside strings, keeping every
 * offset (and line numbers) intact, like the json_comments crate.
 */
export function stripJsonComments(text: string): string {
  const out = text.split('');
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') out[i++] = ' ';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new JsonSyntaxError('unterminated block comment (invalid data)');
      for (; i < end + 2; i++) if (text[i] !== '\n') out[i] = ' ';
    } else if (c === '/') {
      throw new JsonSyntaxError(`stray '/' outside a string or comment (invalid data) at ${position(text, i)}`);
    } else {
      i++;
    }
  }
  return out.join('');
}

function position(text: string, at: number): string {
  let line = 1;
  let col = 0;
  for (let i = 0; i < at && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 0;
    } else col++;
  }
  return `line ${line} column ${col}`;
}

const MAX_DEPTH = 128;

/** Parses strict JSON. Integral numbers without `.`/`e` are integers; others JsonFloat/number. */
export function parseJson(text: string): JsonValue {
  return new Parser(text).parseDocument();
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  private fail(message: string, at = this.i): never {
    // serde_json points at the last character it consumed (column of that character).
    throw new JsonSyntaxError(`${message} at ${position(this.s, Math.min(at, this.s.length) + 1)}`);
  }

  private skipWs(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  parseDocument(): JsonValue {
    this.skipWs();
    const v = this.value();
    this.skipWs();
    if (this.i < this.s.length) this.fail('trailing characters');
    return v;
  }

  private eof(what: string): never {
    return this.fail(`EOF while parsing ${what}`, this.s.length - 1);
  }

  private value(): JsonValue {
    if (this.i >= this.s.length) this.eof('a value');
    const c = this.s[this.i]!;
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
    }
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    return this.fail('expected value');
  }

  private literal(word: string, v: JsonValue): JsonValue {
    for (let k = 0; k < word.length; k++) {
      if (this.i >= this.s.length) this.eof('a value');
      if (this.s[this.i] !== word[k]) this.fail('expected ident');
      this.i++;
    }
    return v;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('recursion limit exceeded');
  }

  private array(): JsonValue {
    this.enter();
    this.i++;
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.s[this.i] === ']') {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.i >= this.s.length) this.eof('a list');
      out.push(this.value());
      this.skipWs();
      if (this.i >= this.s.length) this.eof('a list');
      const c = this.s[this.i++];
      if (c === ']') break;
      if (c !== ',') this.fail('expected `,` or `]`', this.i - 1);
      this.skipWs();
      if (this.s[this.i] === ']') this.fail('trailing comma');
    }
    this.depth--;
    return out;
  }

  private object(): JsonValue {
    this.enter();
    this.i++;
    const out: { [key: string]: JsonValue } = Object.create(null);
    this.skipWs();
    if (this.s[this.i] === '}') {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.i >= this.s.length) this.eof('an object');
      if (this.s[this.i] !== '"') this.fail('key must be a string');
      const key = this.string();
      this.skipWs();
      if (this.i >= this.s.length) this.eof('an object');
      if (this.s[this.i] !== ':') this.fail('expected `:`');
      this.i++;
      this.skipWs();
      out[key] = this.value();
      this.skipWs();
      if (this.i >= this.s.length) this.eof('an object');
      const c = this.s[this.i++];
      if (c === '}') break;
      if (c !== ',') this.fail('expected `,` or `}`', this.i - 1);
      this.skipWs();
      if (this.s[this.i] === '}') this.fail('trailing comma');
    }
    this.depth--;
    return out;
  }

  private hex4(): number {
    const h = this.s.slice(this.i, this.i + 4);
    if (h.length < 4) this.eof('a string');
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  private string(): string {
    this.i++;
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= this.s.length) this.eof('a string');
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        out += this.s.slice(start, this.i++);
        return out;
      }
      if (c < 0x20) this.fail('control character (\\u0000-\\u001F) found while parsing a string');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(start, this.i);
      this.i++;
      if (this.i >= this.s.length) this.eof('a string');
      const e = this.s[this.i++]!;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u') {
        const u = this.hex4();
        if (u >= 0xdc00 && u <= 0xdfff) this.fail('lone leading surrogate in hex escape');
        if (u >= 0xd800 && u <= 0xdbff) {
          if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') this.fail('unexpected end of hex escape');
          this.i += 2;
          const lo = this.hex4();
          if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone leading surrogate in hex escape');
          out += String.fromCharCode(u, lo);
        } else out += String.fromCharCode(u);
      } else this.fail('invalid escape', this.i - 1);
      start = this.i;
    }
  }

  private number(): JsonValue {
    const m = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (!r || r[0] === '-') this.fail('invalid number');
    const text = r[0];
    this.i += text.length;
    const next = this.s[this.i];
    if (next !== undefined && /[0-9.eE]/.test(next)) this.fail('invalid number');
    const n = Number(text);
    if (r[2] === undefined && r[3] === undefined) {
      // -0 is a float in serde_json; integers beyond i64/u64 become floats as well.
      if (Object.is(n, -0)) return new JsonFloat(-0);
      return n;
    }
    if (!Number.isFinite(n)) this.fail('number out of range');
    return Number.isInteger(n) ? new JsonFloat(n) : n;
  }
}
