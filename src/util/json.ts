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

/**
 * Formats a float the way KumoMTA's serde_json does (clients.md §6.1):
 * shortest round-trip digits, `.0` kept on integral values, fixed notation
 * for decimal exponents -5..15, otherwise `d[.ddd]e+NN` / `e-NN`.
 * NaN and infinities have no JSON form and become null.
 */
export function formatFloat(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sign = v < 0 ? '-' : '';
  const [mantissa, exp] = Math.abs(v).toExponential().split('e');
  const digits = mantissa!.replace('.', '');
  const kk = Number(exp) + 1; // position of the decimal point relative to the digits
  if (kk > 0 && kk <= 16) {
    if (digits.length <= kk) return `${sign}${digits}${'0'.repeat(kk - digits.length)}.0`;
    return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
  }
  if (kk > -5 && kk <= 0) return `${sign}0.${'0'.repeat(-kk)}${digits}`;
  const rest = digits.length > 1 ? `.${digits.slice(1)}` : '';
  const e = kk - 1;
  return `${sign}${digits[0]}${rest}e${e >= 0 ? '+' : ''}${e}`;
}

function formatNumber(v: number): string {
  if (!Number.isInteger(v)) return formatFloat(v);
  // Integers print every digit, as serde_json does for i64/u64.
  return Math.abs(v) < 1e21 ? String(v) : BigInt(v).toString();
}

/** Orders strings as their UTF-8 bytes would sort (code point order), like serde_json's maps. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

export interface JsonTextOptions {
  /** Two-space indented output like serde_json's pretty printer. */
  pretty?: boolean;
  /** Sort object keys (serde_json without preserve_order). */
  sortKeys?: boolean;
  /**
   * For other JSON-shaped trees (kumo.serde's ordered objects): the entries
   * of an object node this writer does not know, in output order.
   */
  objectEntries?: (node: object) => [string, unknown][] | undefined;
  /** Maps leaf types this writer does not know (e.g. byte strings) to JSON values. */
  mapValue?: (node: unknown) => unknown;
}

/** Serialises a JsonValue exactly as serde_json would, keeping `5.0` for JsonFloat. */
export function toJsonText(value: JsonValue, options: JsonTextOptions = {}): string {
  const pretty = options.pretty === true;
  const sortKeys = options.sortKeys === true;
  const write = (node: unknown, indent: string): string => {
    const v = options.mapValue ? options.mapValue(node) : node;
    if (v === null || v === undefined) return 'null';
    switch (typeof v) {
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        return formatNumber(v);
      case 'string':
        return JSON.stringify(v);
    }
    if (v instanceof JsonFloat) return formatFloat(v.value);
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((x) => write(x, inner));
      return pretty ? `[\n${inner}${items.join(`,\n${inner}`)}\n${indent}]` : `[${items.join(',')}]`;
    }
    let entries = options.objectEntries?.(v as object) ?? Object.entries(v as object);
    if (entries.length === 0) return '{}';
    if (sortKeys) entries = [...entries].sort((a, b) => compareUtf8(a[0], b[0]));
    const sep = pretty ? ': ' : ':';
    const items = entries.map(([k, x]) => `${JSON.stringify(k)}${sep}${write(x, inner)}`);
    return pretty ? `{\n${inner}${items.join(`,\n${inner}`)}\n${indent}}` : `{${items.join(',')}}`;
  };
  return write(value, '');
}

import { parse as parseLossless } from 'lossless-json';

function parseJsonNumber(text: string): number | JsonFloat {
  const n = Number(text);
  if (/[.eE]/.test(text)) return Number.isInteger(n) ? new JsonFloat(n) : n;
  return n;
}

/** Parses JSON text, keeping `1.0` as a JsonFloat so it re-serialises as `1.0`. */
export function fromJsonText(text: string): JsonValue {
  return parseLossless(text, null, parseJsonNumber) as JsonValue;
}
