/**
 * `kumo.make_egress_pool` (lua-api-more.md §1.2): a named, weighted list of
 * source names. `entries` is optional in the code (an empty pool is legal
 * and fails its messages with "no sources available").
 */
import { ConfigError, StrictReader } from '../queue/config-reader.ts';
import { isJsonObject, type JsonObject } from '../util/json.ts';
import { durationToSerde } from '../util/serde-duration.ts';
import { DEFAULT_EGRESS_TTL_MS } from './source.ts';

export interface PoolEntry {
  name: string;
  /** 0 = never selected. */
  weight: number;
}

export interface EgressPool {
  name: string;
  entries: PoolEntry[];
  ttlMs: number;
}

/** What a queue without `egress_pool` (or with `'unspecified'`) uses; never reaches Lua. */
export const UNSPECIFIED_POOL: EgressPool = Object.freeze({
  name: 'unspecified',
  entries: [Object.freeze({ name: 'unspecified', weight: 1 })],
  ttlMs: DEFAULT_EGRESS_TTL_MS,
});

export function isBuiltInPool(name: string | null | undefined): boolean {
  return name === null || name === undefined || name === 'unspecified';
}

export function parseEgressPool(obj: JsonObject): EgressPool {
  const r = new StrictReader(obj, ['name', 'entries', 'ttl']);
  const name = r.requiredString('name');
  const entries = (r.array('entries') ?? []).map((raw, i): PoolEntry => {
    const field = `entries[${i}]`;
    if (!isJsonObject(raw)) throw new ConfigError(field, `invalid type for \`${field}\`: expected a table { name = ..., weight = ... }`);
    const e = new StrictReader(raw, ['name', 'weight'], `${field}.`);
    return { name: e.requiredString('name'), weight: e.integer('weight') ?? 1 };
  });
  return { name, entries, ttlMs: r.durationMs('ttl') ?? DEFAULT_EGRESS_TTL_MS };
}

/** What `kumo.invoke_get_egress_pool` returns. */
export function egressPoolToJson(p: EgressPool): JsonObject {
  return { name: p.name, entries: p.entries.map((e) => ({ name: e.name, weight: e.weight })), ttl: durationToSerde(p.ttlMs) };
}
