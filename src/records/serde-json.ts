import { JsonFloat, formatFloat, type JsonObject, type JsonValue } from '../util/json.ts';

export { formatFloat };

/**
 * Compact JSON exactly as Rust's serde_json writes it for log records:
 * floats via util/json's ryu-style formatFloat, and objects nested in meta
 * with keys in byte order (serde_json without `preserve_order` stores them in
 * a BTreeMap). Unlike util/json's toJsonText, the top level of a record map
 * keeps its insertion order, and the key order is by code point.
 */

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (!Number.isInteger(value)) return formatFloat(value);
  if (Math.abs(value) < 1e21) return String(value);
  return BigInt(value).toString();
}

/** Byte-wise (UTF-8 / code point) order, which differs from UTF-16 order only around surrogates. */
export function compareKeys(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) {
      const cx = a.codePointAt(i)!;
      const cy = b.codePointAt(i)!;
      if (cx !== cy) return cx < cy ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function writeValue(v: JsonValue, sortKeys: boolean): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return formatNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof JsonFloat) return formatFloat(v.value);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + writeValue(v[i]!, sortKeys);
    return out + ']';
  }
  return writeObject(v, sortKeys, sortKeys);
}

function writeObject(obj: JsonObject, sortThis: boolean, sortNested: boolean): string {
  const keys = Object.keys(obj);
  if (sortThis) keys.sort(compareKeys);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i ? ',' : '') + JSON.stringify(k) + ':' + writeValue(obj[k]!, sortNested);
  }
  return out + '}';
}

/** serde_json text of any JSON value; nested objects get sorted keys. */
export function serdeJson(value: JsonValue): string {
  return writeValue(value, true);
}

/**
 * A record's `meta`/`headers` map (or `feedback_report`, whose producer fixes
 * its key order): the top level keeps insertion order (a HashMap has no
 * defined order anyway), nested objects are sorted.
 */
export function serdeJsonMap(obj: JsonObject): string {
  return writeObject(obj, false, true);
}
