/**
 * Validation of the option tables given to `kumo.configure_*` (already
 * converted from Lua to plain JS values). Every error names the function and
 * the option so a policy author can find the mistake.
 */

export class LoggingConfigError extends Error {}

export type OptionTable = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a table' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks that `value` is a table with only `allowed` keys. */
export function checkTable(where: string, value: unknown, allowed: readonly string[]): OptionTable {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (Array.isArray(value) && value.length === 0) return {};
    throw new LoggingConfigError(`${where}: expected a table, got ${describe(value)}`);
  }
  const table = value as OptionTable;
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) {
      throw new LoggingConfigError(`${where}: unknown option '${key}' (expected one of: ${allowed.join(', ')})`);
    }
  }
  return table;
}

export function optString(where: string, table: OptionTable, key: string): string | undefined {
  const v = table[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new LoggingConfigError(`${where}: option '${key}' must be a string, got ${describe(v)}`);
  return v;
}

export function reqString(where: string, table: OptionTable, key: string): string {
  const v = optString(where, table, key);
  if (v === undefined) throw new LoggingConfigError(`${where}: option '${key}' is required`);
  return v;
}

export function optBoolean(where: string, table: OptionTable, key: string): boolean | undefined {
  const v = table[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new LoggingConfigError(`${where}: option '${key}' must be a boolean, got ${describe(v)}`);
  return v;
}

export function optInteger(where: string, table: OptionTable, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = table[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new LoggingConfigError(`${where}: option '${key}' must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new LoggingConfigError(`${where}: option '${key}' must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** A list of strings; an empty Lua table may arrive as `{}` or `[]`. */
export function optStringList(where: string, table: OptionTable, key: string): string[] {
  const v = table[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    if (typeof v === 'object' && Object.keys(v).length === 0) return [];
    throw new LoggingConfigError(`${where}: option '${key}' must be a list of strings, got ${describe(v)}`);
  }
  return v.map((item, i) => {
    if (typeof item !== 'string') throw new LoggingConfigError(`${where}: option '${key}'[${i + 1}] must be a string, got ${describe(item)}`);
    return item;
  });
}
