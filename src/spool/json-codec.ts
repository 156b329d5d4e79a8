import { fromJsonText, toJsonText, type JsonValue } from '../util/json.ts';

/** Meta JSON for the spool: the shared lossless text form (JsonFloat stays `5.0`). */
export function encodeJson(value: JsonValue): string {
  return toJsonText(value);
}

// Only text that could hold an integral float needs the slower lossless parser.
const MAYBE_INTEGRAL_FLOAT = /\d[eE]|\.0+(?:[,}\]\s]|$)/;

export function decodeJson(text: string): JsonValue {
  if (!MAYBE_INTEGRAL_FLOAT.test(text)) return JSON.parse(text) as JsonValue;
  return fromJsonText(text);
}
