import { parse as losslessParse } from 'lossless-json';
import { JsonFloat, type JsonValue } from '../util/json.ts';

/**
 * Spool-private JSON text that keeps JsonFloat: an integral float is written
 * as `5.0` and read back as JsonFloat. (To be replaced by the shared
 * toJsonText/fromJsonText of src/util/json.ts once it exists.)
 */
export function encodeJson(value: JsonValue): string {
  // The replacer sees values after toJSON ran, so look at the holder's original.
  const replacer = function (this: Record<string, unknown>, key: string, v: unknown): unknown {
    const original = this[key];
    return original instanceof JsonFloat ? { __kumo_float__: original.value } : v;
  };
  return JSON.stringify(value, replacer).replace(
    /\{"__kumo_float__":(-?[0-9.eE+-]+|null)\}/g,
    (_m, num: string) => (num === 'null' ? 'null' : /[.eE]/.test(num) ? num : `${num}.0`),
  );
}

// Only text that could hold an integral float needs the slow lossless parser.
const MAYBE_INTEGRAL_FLOAT = /\d[eE]|\.0+(?:[,}\]\s]|$)/;

function parseNumber(text: string): number | JsonFloat {
  const n = Number(text);
  return /[.eE]/.test(text) && Number.isInteger(n) ? new JsonFloat(n) : n;
}

export function decodeJson(text: string): JsonValue {
  if (!MAYBE_INTEGRAL_FLOAT.test(text)) return JSON.parse(text) as JsonValue;
  return losslessParse(text, null, parseNumber) as JsonValue;
}
