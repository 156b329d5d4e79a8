/**
 * Compact JSON text written straight from Lua values, read in place through
 * the fork's lhost API: kumo.serde.json_encode's common case without the
 * intermediate serde tree (lua-value.ts + json-text.ts writeJson).
 *
 * The output is exactly what that general path writes in compact mode:
 * arrays for tables with a raw length > 0 (other keys dropped, holes null),
 * objects in lua_next order otherwise (the array marker ignored, as
 * json_encode copies tables first), integers as integers, floats as
 * serde_json prints them (`3.0`, `1e+16`), non-UTF-8 strings as byte arrays,
 * the null sentinel as null. Anything else — userdata (which may run
 * `__pairs`), functions, other light userdata, keys that are not strings,
 * numbers or booleans, or nesting deeper than MAX_DEPTH (a cycle, most
 * likely) — makes it give up before having run any Lua code, and the caller
 * takes the general path, which also produces the right error.
 */
import { LUA_NULL } from './marshal.ts';
import { keyTextStrict } from './interned-keys.ts';
import { decodeUtf8Strict } from './strings.ts';
import {
  T_BOOLEAN,
  T_LIGHTUSERDATA,
  T_LNGSTR,
  T_NIL,
  T_NUMFLT,
  T_NUMINT,
  T_SHRSTR,
  T_TABLE,
  hostFirst,
  hostGetI,
  hostGetN,
  stringBytes,
  type HostTable,
  type TValue,
} from './host-values.ts';
import { formatFloat } from '../util/json.ts';

const MAX_DEPTH = 100;
const INT64_LIMIT = 2 ** 63;

/** Thrown inside the writer to give up; never escapes it. */
const GIVE_UP: unique symbol = Symbol('json-writer: general path');

const ascii = new TextDecoder('utf-8', { ignoreBOM: true });

/** Compact JSON of a Lua value (read in place), or undefined when the general path must do it. */
export function compactJsonOf(v: TValue): string | undefined {
  try {
    return valueText(v, 0);
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

function valueText(v: TValue, depth: number): string {
  switch (v.type) {
    case T_NIL:
      return 'null';
    case T_BOOLEAN:
      return v.value ? 'true' : 'false';
    case T_NUMINT:
      return String(v.value);
    case T_NUMFLT:
      return floatText(v.value as number);
    case T_SHRSTR:
    case T_LNGSTR:
      return stringText(stringBytes(v));
    case T_LIGHTUSERDATA:
      if (v.value === LUA_NULL) return 'null';
      throw GIVE_UP;
    case T_TABLE:
      return tableText(v.value as HostTable, depth);
    default:
      throw GIVE_UP;
  }
}

/**
 * A Lua float as json_encode writes it: integral floats keep `.0` (serde's
 * f64), except those beyond the VM's integer range and below 2^63, which
 * stand for the 64-bit integers KumoMTA would have held; NaN/±inf are null.
 */
export function floatText(n: number): string {
  if (Number.isInteger(n)) {
    const a = Math.abs(n);
    if (a > Number.MAX_SAFE_INTEGER && a < INT64_LIMIT) return String(n);
  }
  return formatFloat(n);
}

/** A Lua string as a JSON string (escaped like JSON.stringify), or its byte values when not UTF-8. */
export function stringText(b: Uint8Array): string {
  const n = b.length;
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return nonAsciiText(b);
    if (c < 0x20 || c === 0x22 || c === 0x5c) plain = false;
  }
  const s = n <= 64 ? String.fromCharCode.apply(null, b as unknown as number[]) : ascii.decode(b);
  return plain ? '"' + s + '"' : JSON.stringify(s);
}

function nonAsciiText(b: Uint8Array): string {
  const text = decodeUtf8Strict(b);
  return text === undefined ? '[' + b.join(',') + ']' : JSON.stringify(text);
}

/** Quoted key text by the key string's bytes (the VM shares one array per Lua string). */
const quotedKeys = new WeakMap<Uint8Array, string>();

function keyText(k: TValue): string {
  switch (k.type) {
    case T_SHRSTR:
    case T_LNGSTR: {
      const bytes = stringBytes(k);
      let q = quotedKeys.get(bytes);
      if (q === undefined) {
        const text = keyTextStrict(bytes);
        if (text === undefined) throw GIVE_UP;
        q = JSON.stringify(text);
        quotedKeys.set(bytes, q);
      }
      return q;
    }
    case T_NUMINT:
      return '"' + String(k.value) + '"';
    case T_NUMFLT: {
      const n = k.value as number;
      if (!Number.isFinite(n)) throw GIVE_UP;
      return '"' + formatFloat(n) + '"';
    }
    case T_BOOLEAN:
      return k.value ? '"true"' : '"false"';
    default:
      throw GIVE_UP;
  }
}

function tableText(t: HostTable, depth: number): string {
  if (depth >= MAX_DEPTH) throw GIVE_UP;
  const inner = depth + 1;
  const len = hostGetN(t);
  if (len > 0) {
    let out = '[' + valueText(hostGetI(t, 1), inner);
    for (let i = 2; i <= len; i++) out += ',' + valueText(hostGetI(t, i), inner);
    return out + ']';
  }
  let e = hostFirst(t);
  if (e === undefined) return '{}';
  let out = '{' + keyText(e.key) + ':' + valueText(e.value, inner);
  for (e = e.n; e !== undefined; e = e.n) out += ',' + keyText(e.key) + ':' + valueText(e.value, inner);
  return out + '}';
}
