/**
 * Structured table arguments (clients.md §0.2 "S" / "S+"): read fields of a
 * Lua table already converted to JSON, with serde's error texts so policies
 * that match on them (typing.lua) keep working.
 */
import { JsonFloat, isJsonObject, toJsonText, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseHumantime } from '../util/duration.ts';

/** A serde-style problem; `deserializeError` turns it into the Lua-facing text. */
export class FieldError extends Error {
  override name = 'FieldError';
}

export class DeserializeError extends Error {
  override name = 'DeserializeError';
}

/** `deserialize error: <msg>` and, for S+ parameters, `, while processing <json>`. */
export function deserializeError(err: unknown, processing?: JsonValue): DeserializeError {
  const msg = err instanceof Error ? err.message : String(err);
  const suffix = processing === undefined ? '' : `, while processing ${toJsonText(processing)}`;
  return new DeserializeError(`deserialize error: ${msg}${suffix}`);
}

/** serde's "unexpected" wording for a value. */
export function describeValue(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return 'unit value';
  if (v instanceof JsonFloat) return `floating point \`${v.value.toFixed(1)}\``;
  switch (typeof v) {
    case 'boolean':
      return `boolean \`${v}\``;
    case 'number':
      return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
    case 'string':
      return `string ${JSON.stringify(v)}`;
  }
  return Array.isArray(v) ? 'sequence' : 'map';
}

const invalidType = (v: JsonValue | undefined, expected: string) => new FieldError(`invalid type: ${describeValue(v)}, expected ${expected}`);

export function expectObject(v: JsonValue, what = 'a map'): JsonObject {
  // An empty Lua table converts to {} (or [] with the array marker): both are an empty map here.
  if (Array.isArray(v) && v.length === 0) return {};
  if (!isJsonObject(v)) throw invalidType(v, what);
  return v;
}

/** Strict parsing: every key must be one of `allowed`. */
export function rejectUnknown(obj: JsonObject, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new FieldError(`unknown field \`${key}\`, expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`);
  }
}

function present(obj: JsonObject, name: string): JsonValue | undefined {
  const v = obj[name];
  return v === null ? undefined : v;
}

export function requireField<T>(obj: JsonObject, name: string, read: (obj: JsonObject, name: string) => T | undefined): T {
  const v = read(obj, name);
  if (v === undefined) throw new FieldError(`missing field \`${name}\``);
  return v;
}

export function optString(obj: JsonObject, name: string): string | undefined {
  const v = present(obj, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidType(v, 'a string');
  return v;
}

export function optBool(obj: JsonObject, name: string): boolean | undefined {
  const v = present(obj, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalidType(v, 'a boolean');
  return v;
}

/** An integer field: Lua floats (even 1.0) are rejected, as serde does. */
export function optInteger(obj: JsonObject, name: string, min: number, max: number, typeName: string): number | undefined {
  const v = present(obj, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidType(v, typeName);
  if (v < min || v > max) throw new FieldError(`invalid value: integer \`${v}\`, expected ${typeName}`);
  return v;
}

/** A duration field: seconds (integer or float) or humantime text; milliseconds out. */
export function optDuration(obj: JsonObject, name: string): number | undefined {
  const v = present(obj, name);
  if (v === undefined) return undefined;
  const n = v instanceof JsonFloat ? v.value : v;
  if (typeof n === 'number') {
    if (!Number.isFinite(n) || n < 0) throw new FieldError(`invalid value: ${describeValue(v)}, expected a non-negative duration`);
    return n * 1000;
  }
  if (typeof n === 'string') {
    try {
      return parseHumantime(n);
    } catch {
      throw new FieldError(`invalid value: string ${JSON.stringify(n)}, expected a duration`);
    }
  }
  throw invalidType(v, 'a duration');
}

/** A string→string map field (values must already be strings: no number conversion). */
export function optStringMap(obj: JsonObject, name: string): [string, string][] | undefined {
  const v = present(obj, name);
  if (v === undefined) return undefined;
  const map = expectObject(v);
  return Object.entries(map).map(([k, val]) => {
    if (typeof val !== 'string') throw invalidType(val, 'a string');
    return [k, val];
  });
}
