import { fromJsonText, toJsonText, type JsonValue } from '../util/json.ts';

/**
 * True when JSON.stringify writes `value` exactly as the lossless writer
 * would, or at least as text that decodes back to the same value: plain
 * objects and arrays of strings, booleans, null and numbers, with no
 * JsonFloat (needs its `.0`), no undefined object member (stringify drops
 * it, the writer writes null) and no integer of 1e21 or more (stringify
 * writes `1e+21`, which would decode as a float). Meta is nearly always this.
 */
function stringifiable(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return !Number.isInteger(value) || Math.abs(value) < 1e21;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (value[i] === undefined || !stringifiable(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || !stringifiable(v, depth + 1)) return false;
  }
  return true;
}

/** Meta JSON for the spool: the shared lossless text form (JsonFloat stays `5.0`). */
export function encodeJson(value: JsonValue): string {
  // V8's JSON.stringify is several times faster than the lossless writer.
  return stringifiable(value, 0) ? JSON.stringify(value) : toJsonText(value);
}

// Only text that could hold an integral float needs the slower lossless parser.
const MAYBE_INTEGRAL_FLOAT = /\d[eE]|\.0+(?:[,}\]\s]|$)/;

export function decodeJson(text: string): JsonValue {
  if (!MAYBE_INTEGRAL_FLOAT.test(text)) return JSON.parse(text) as JsonValue;
  return fromJsonText(text);
}
