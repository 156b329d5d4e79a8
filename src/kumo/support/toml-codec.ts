/**
 * TOML for kumo.serde (clients.md §6.3) on smol-toml. Integers are read as
 * BigInt so TOML floats (`1.0`) stay Lua floats; datetimes become the toml
 * crate's private `{ ['$__toml_private_datetime'] = text }` table.
 */
import { parse as parseToml, stringify as stringifyToml, TomlDate } from 'smol-toml';
import { JsonFloat, type JsonValue } from '../../util/json.ts';
import { SerdeBytes, SerdeObject, floatToSerde, type SerdeValue } from './lua-value.ts';
import { sortedEntries } from './json-text.ts';

export class TomlCodecError extends Error {}

export function tomlToJson(text: string): JsonValue {
  let doc: unknown;
  try {
    doc = parseToml(text, { integersAsBigInt: true });
  } catch (err) {
    const e = err as { line?: number; column?: number; message?: string };
    const where = e.line !== undefined ? `TOML parse error at line ${e.line}, column ${e.column}\n` : '';
    throw new TomlCodecError(`${where}${e.message ?? String(err)}`);
  }
  return fromToml(doc);
}

function fromToml(v: unknown): JsonValue {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return floatToSerde(v) as number | JsonFloat;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof TomlDate || v instanceof Date) return { $__toml_private_datetime: (v as Date).toISOString() };
  if (Array.isArray(v)) return v.map(fromToml);
  if (v && typeof v === 'object') {
    const out: { [key: string]: JsonValue } = Object.create(null);
    for (const [k, x] of Object.entries(v)) out[k] = fromToml(x);
    return out;
  }
  throw new TomlCodecError(`unsupported TOML value ${String(v)}`);
}

function typeName(v: SerdeValue): string {
  if (v === null) return 'unit';
  if (Array.isArray(v) || v instanceof SerdeBytes) return 'array';
  if (v instanceof JsonFloat) return 'f64';
  if (typeof v === 'number') return Number.isInteger(v) ? 'i64' : 'f64';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  return 'map';
}

function toToml(v: SerdeValue, sortKeys: boolean): unknown {
  if (v === null) throw new TomlCodecError('unsupported None value');
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  // smol-toml writes BigInt as integers and (with numbersAsFloat) numbers as floats.
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (v instanceof JsonFloat) return v.value;
  if (v instanceof SerdeBytes) return Array.from(v.bytes, (b) => BigInt(b));
  if (Array.isArray(v)) return v.map((x) => toToml(x, sortKeys));
  const entries = sortKeys ? sortedEntries(v) : v.entries;
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, x] of entries) out[k] = toToml(x, sortKeys);
  return out;
}

export function serdeToToml(v: SerdeValue, sortKeys = false): string {
  if (!(v instanceof SerdeObject)) throw new TomlCodecError(`unsupported ${typeName(v)} type`);
  return stringifyToml(toToml(v, sortKeys), { numbersAsFloat: true });
}
