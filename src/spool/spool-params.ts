import { ConfigError, StrictReader } from '../queue/config-reader.ts';
import type { JsonObject } from '../util/json.ts';

/** `N%` of the filesystem or an absolute count (bytes / inodes). */
export type FreeSpaceLimit = { percent: number } | { absolute: number };

/** `kumo.define_spool` options (engine.md §6.1). */
export interface SpoolParams {
  name: string;
  path: string;
  kind: 'LocalDisk' | 'RocksDB';
  flush: boolean;
  rocksParams: JsonObject | null;
  minFreeSpace: FreeSpaceLimit;
  minFreeInodes: FreeSpaceLimit;
}

const KEYS = ['name', 'path', 'kind', 'flush', 'rocks_params', 'min_free_space', 'min_free_inodes'];

export function parseLimit(r: StrictReader, key: string): FreeSpaceLimit {
  const v = r.raw(key);
  if (v === undefined) return { percent: 10 };
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { absolute: v };
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
    if (m && Number(m[1]) <= 100) return { percent: Number(m[1]) };
    if (/^\s*\d+\s*$/.test(v)) return { absolute: Number(v) };
  }
  throw new ConfigError(key, `invalid value for \`${key}\`: ${JSON.stringify(v)}, expected "N%" or a non-negative integer`);
}

export function parseSpoolParams(obj: JsonObject): SpoolParams {
  const r = new StrictReader(obj, KEYS);
  const rocks = r.object('rocks_params');
  return {
    name: r.requiredString('name'),
    path: r.requiredString('path'),
    kind: r.oneOf('kind', ['LocalDisk', 'RocksDB'] as const) ?? 'LocalDisk',
    flush: r.bool('flush') ?? false,
    rocksParams: rocks ?? null,
    minFreeSpace: parseLimit(r, 'min_free_space'),
    minFreeInodes: parseLimit(r, 'min_free_inodes'),
  };
}
