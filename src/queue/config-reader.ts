import { parseDuration } from '../util/duration.ts';
import { parseThrottleSpec, type ThrottleSpec } from './throttle.ts';
import { JsonFloat, isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';

/** A config option had the wrong type, an unknown key or a bad value; `field` names it. */
export class ConfigError extends Error {
  constructor(readonly field: string | null, message: string) {
    super(message);
  }
}

function describe(v: JsonValue): string {
  if (v === null) return 'unit value';
  if (v instanceof JsonFloat) return `floating point \`${v.value.toFixed(1)}\``;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  if (Array.isArray(v)) return 'sequence';
  return 'map';
}

/**
 * Reads a strict (unknown keys rejected) option table. Field names in errors
 * are qualified with `prefix`, e.g. `protocol.custom_lua.batch_size`.
 */
export class StrictReader {
  constructor(private readonly obj: JsonObject, private readonly known: readonly string[], private readonly prefix = '') {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        const list = known.map((k) => `\`${k}\``).join(', ');
        throw new ConfigError(this.name(key), `unknown field \`${this.name(key)}\`, expected one of ${list}`);
      }
    }
  }

  name(key: string): string {
    return this.prefix + key;
  }

  has(key: string): boolean {
    const v = this.raw(key);
    return v !== undefined;
  }

  raw(key: string): JsonValue | undefined {
    // Own keys only: `constructor` and friends must not come from the prototype.
    const v = Object.hasOwn(this.obj, key) ? this.obj[key] : undefined;
    return v === null ? undefined : v;
  }

  private typeError(key: string, v: JsonValue, expected: string): ConfigError {
    return new ConfigError(this.name(key), `invalid type for \`${this.name(key)}\`: ${describe(v)}, expected ${expected}`);
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.typeError(key, v, 'a string');
    return v;
  }

  requiredString(key: string): string {
    const v = this.string(key);
    if (v === undefined) throw new ConfigError(this.name(key), `missing field \`${this.name(key)}\``);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw this.typeError(key, v, 'a boolean');
    return v;
  }

  /** Integers only: a Lua float such as 1.0 is refused, as serde does. */
  integer(key: string, min = 0): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.typeError(key, v, 'an integer');
    if (v < min) throw new ConfigError(this.name(key), `invalid value for \`${this.name(key)}\`: integer \`${v}\`, expected an integer >= ${min}`);
    return v;
  }

  durationMs(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    try {
      return parseDuration(v, `\`${this.name(key)}\``);
    } catch (err) {
      throw new ConfigError(this.name(key), (err as Error).message);
    }
  }

  /** A throttle spec such as "100/hr" or "local:10/s"; null when the key is absent. */
  throttle(key: string): ThrottleSpec | null {
    const text = this.string(key);
    if (text === undefined) return null;
    try {
      return parseThrottleSpec(text);
    } catch (err) {
      throw new ConfigError(this.name(key), `\`${this.name(key)}\`: ${(err as Error).message}`);
    }
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (!values.includes(v as T)) {
      throw new ConfigError(this.name(key), `unknown variant \`${v}\` for \`${this.name(key)}\`, expected one of ${values.map((x) => `\`${x}\``).join(', ')}`);
    }
    return v as T;
  }

  object(key: string): JsonObject | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) throw this.typeError(key, v, 'a table');
    return v;
  }

  /** A Lua array arrives as a JSON array; an empty Lua table may arrive as `{}`. */
  array(key: string): JsonValue[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v;
    if (isJsonObject(v) && Object.keys(v).length === 0) return [];
    throw this.typeError(key, v, 'a sequence');
  }
}
