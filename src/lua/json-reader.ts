/**
 * JSON text straight to Lua tables (the fork's lhost API), for
 * kumo.serde.json_parse's common case: no intermediate JS tree.
 *
 * It builds exactly what parseJson + pushJson({arrayMarker: true}) build:
 * null members absent, null elements holes, arrays with the marker
 * metatable, integers (no `.`/exponent, within ±(2^53 − 1)) as integers,
 * everything else — `3.0`, `1e2`, `-0`, integers beyond 2^53 — as floats.
 * Where a JS object would have reordered or merged keys (keys starting with
 * a digit, which JS puts first when they are array indices; a key seen
 * twice) and on any syntax error or nesting beyond the parser's limit it
 * gives up, and the caller runs the general parser, which also produces
 * serde_json's error message.
 */
import type { LuaState } from './fengari.ts';
import { internedKey } from './interned-keys.ts';
import { encodeText } from './strings.ts';
import {
  hostBool,
  hostFloat,
  hostHasKey,
  hostInt,
  hostNewTable,
  hostSetI,
  hostSetKey,
  hostSetMetatable,
  hostString,
  hostTableValue,
  type HostTable,
  type TValue,
} from './host-values.ts';

/** The general parser's nesting limit (json-text.ts). */
const MAX_DEPTH = 128;

const GIVE_UP: unique symbol = Symbol('json-reader: general path');

/** A JSON value: a Lua value, NIL for null, or GIVE_UP thrown. */
const NIL = undefined;

/**
 * Parses `text` into a Lua value (undefined for a top-level null), arrays
 * marked with `marker`; GIVE_UP (returned as `false`) when the general
 * parser must run instead. `bytes`, when given, are the UTF-8 bytes the text
 * was decoded from (or any with the same bytes at the same offsets, such as
 * the text before comments were blanked out).
 */
export function luaFromJsonText(L: LuaState, text: string, marker: HostTable, bytes?: Uint8Array): TValue | undefined | false {
  const r = new Reader(L, text, marker, bytes !== undefined && bytes.length === text.length ? bytes : undefined);
  try {
    r.ws();
    const v = r.value(0);
    r.ws();
    if (r.i < text.length) return false;
    return v;
  } catch (err) {
    if (err === GIVE_UP) return false;
    throw err;
  }
}

class Reader {
  i = 0;
  constructor(
    private readonly L: LuaState,
    private readonly s: string,
    private readonly marker: HostTable,
    /** The UTF-8 bytes of s when s is all ASCII. */
    private readonly bytes: Uint8Array | undefined,
  ) {}

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): TValue | undefined {
    const c = this.s.charCodeAt(this.i);
    switch (c) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return this.stringValue();
      case 0x74: // t
        return this.word('true') ? hostBool(true) : NIL;
      case 0x66: // f
        return this.word('false') ? hostBool(false) : NIL;
      case 0x6e: // n
        this.word('null');
        return NIL;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    throw GIVE_UP;
  }

  /** Consumes `w` (its first character already matched) or gives up; true for chaining. */
  private word(w: string): true {
    if (!this.s.startsWith(w, this.i)) throw GIVE_UP;
    this.i += w.length;
    return true;
  }

  private array(depth: number): TValue {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const s = this.s;
    const t = hostNewTable(this.L);
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === 0x5d) {
      this.i++;
    } else {
      for (let n = 1; ; n++) {
        const v = this.value(depth);
        if (v !== NIL) hostSetI(t, n, v);
        this.ws();
        const c = s.charCodeAt(this.i++);
        if (c === 0x5d) break;
        if (c !== 0x2c) throw GIVE_UP;
        this.ws();
      }
    }
    hostSetMetatable(t, this.marker);
    return hostTableValue(t);
  }

  private object(depth: number): TValue {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const s = this.s;
    const t = hostNewTable(this.L);
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return hostTableValue(t);
    }
    let nulls: string[] | undefined;
    for (;;) {
      if (s.charCodeAt(this.i) !== 0x22) throw GIVE_UP;
      const k = this.string();
      const c0 = k.charCodeAt(0);
      // JS objects put array-index keys first: the general path's order.
      if (c0 >= 0x30 && c0 <= 0x39) throw GIVE_UP;
      this.ws();
      if (s.charCodeAt(this.i) !== 0x3a) throw GIVE_UP;
      this.i++;
      this.ws();
      const v = this.value(depth);
      const key = internedKey(k);
      // A repeated key keeps its first position in a JS object: give up.
      if (nulls !== undefined && nulls.includes(k)) throw GIVE_UP;
      if (v === NIL) {
        if (hostHasKey(t, key)) throw GIVE_UP;
        (nulls ??= []).push(k);
      } else if (hostSetKey(t, key, v)) throw GIVE_UP;
      this.ws();
      const c = s.charCodeAt(this.i++);
      if (c === 0x7d) break;
      if (c !== 0x2c) throw GIVE_UP;
      this.ws();
    }
    return hostTableValue(t);
  }

  /**
   * A string value: without escapes, its bytes are copied straight from the
   * Lua string being parsed when that is all ASCII (offsets are byte offsets).
   */
  private stringValue(): TValue {
    const s = this.s;
    const start = this.i + 1;
    for (let i = start; ; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return hostString(this.bytes !== undefined ? this.bytes.slice(start, i) : encodeText(s.slice(start, i)));
      }
      if (c === 0x5c || c !== c || c < 0x20) break;
    }
    return hostString(encodeText(this.string()));
  }

  /** A string starting at the opening quote; escapes as serde_json reads them. */
  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let start = i;
    let out = '';
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return out + s.slice(start, i);
      }
      if (c !== c || c < 0x20) throw GIVE_UP; // end of text (NaN) or a control character
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(start, i);
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const u = hex4(s, i);
          i += 4;
          if (u >= 0xd800 && u <= 0xdfff) {
            // Surrogate pairs must pair up; anything else is the general parser's error.
            if (u > 0xdbff || s.charCodeAt(i) !== 0x5c || s.charCodeAt(i + 1) !== 0x75) throw GIVE_UP;
            const lo = hex4(s, i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) throw GIVE_UP;
            i += 6;
            out += String.fromCharCode(u, lo);
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          throw GIVE_UP;
      }
      start = i;
    }
  }

  private number(): TValue {
    const s = this.s;
    const begin = this.i;
    let i = begin;
    if (s.charCodeAt(i) === 0x2d) i++;
    let c = s.charCodeAt(i);
    if (c === 0x30) c = s.charCodeAt(++i);
    else if (c >= 0x31 && c <= 0x39) {
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    } else throw GIVE_UP;
    let float = false;
    if (c === 0x2e) {
      float = true;
      c = s.charCodeAt(++i);
      if (!(c >= 0x30 && c <= 0x39)) throw GIVE_UP;
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    }
    if (c === 0x65 || c === 0x45) {
      float = true;
      c = s.charCodeAt(++i);
      if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++i);
      if (!(c >= 0x30 && c <= 0x39)) throw GIVE_UP;
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    }
    // A digit, '.' or 'e' right after (the general parser's "invalid number") fails the syntax that follows.
    this.i = i;
    const n = Number(s.slice(begin, i));
    if (float) {
      if (!Number.isFinite(n)) throw GIVE_UP;
      return hostFloat(n);
    }
    // -0 is a float in serde_json; integers beyond the VM's range can only be floats.
    return Number.isSafeInteger(n) && !Object.is(n, -0) ? hostInt(n) : hostFloat(n);
  }
}

function hex4(s: string, i: number): number {
  let u = 0;
  for (let k = 0; k < 4; k++) {
    const c = s.charCodeAt(i + k);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else throw GIVE_UP;
    u = u * 16 + d;
  }
  return u;
}
