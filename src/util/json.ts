/**
 * JSON values as kumo-lua stores them (message meta, log records, serde).
 *
 * KumoMTA keeps Lua's integer/float distinction through JSON: a Lua float 5.0
 * serialises as `5.0`, an integer as `5`. A JS number cannot carry that, so an
 * integral float is boxed in JsonFloat; non-integral numbers are plain numbers
 * (they can only be floats) and integral plain numbers are integers.
 */
export class JsonFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type JsonValue = null | boolean | number | string | JsonFloat | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The number inside a JSON value, unboxing JsonFloat. */
export function jsonNumber(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof JsonFloat) return v.value;
  return undefined;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonFloat);
}
