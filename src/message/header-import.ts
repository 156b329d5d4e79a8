/**
 * Copying headers into meta (`msg:import_x_headers`, `msg:import_headers`)
 * and dropping them (`msg:remove_x_headers`), lua-api.md §11.2 / §11.3.
 */
import type { JsonValue } from '../util/json.ts';
import { decodeHeaderValue } from './header-codec.ts';
import { parseHeaderBlock, rawHeaderValue, withoutHeaders, type RawHeader } from './headers.ts';

/** `X-Foo` matches `x-foo`; `X-Foo*` matches every name starting with `x-foo`. */
export function headerNameMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  return p.endsWith('*') ? n.startsWith(p.slice(0, -1)) : n === p;
}

function isXHeader(name: string): boolean {
  return name.length >= 2 && (name[0] === 'X' || name[0] === 'x') && name[1] === '-';
}

/** `X-Campaign-Id` -> `x_campaign_id`. */
export function xHeaderMetaKey(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

/**
 * Meta entries for import_x_headers: all `X-` headers when `names` is empty,
 * otherwise the named ones (a trailing `*` is a prefix wildcard). A repeated
 * header: the last one wins.
 */
export function xHeadersToImport(data: Uint8Array, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of parseHeaderBlock(data).headers) {
    if (h.colon < 0) continue;
    const wanted = names.length === 0 ? isXHeader(h.name) : names.some((p) => headerNameMatches(p, h.name));
    if (wanted) out.set(xHeaderMetaKey(h.name), decodeHeaderValue(rawHeaderValue(data, h)));
  }
  return out;
}

/** The data without `X-` headers (no names) or without the named ones (exact, case-insensitive). */
export function withoutXHeaders(data: Uint8Array, names: readonly string[]): Uint8Array | undefined {
  const lowered = new Set(names.map((n) => n.toLowerCase()));
  return withoutHeaders(data, (h) => (lowered.size === 0 ? isXHeader(h.name) : lowered.has(h.name.toLowerCase())));
}

export type HeaderMatch = 'first' | 'last' | 'all';
export type KeyTransform = 'snake_case' | 'kebab_case' | 'camel_case' | 'pascal_case';

export interface HeaderImportSpec {
  name: string;
  match: HeaderMatch;
  transform: KeyTransform;
  target?: string;
  remove: boolean;
}

const MATCHES: readonly HeaderMatch[] = ['first', 'last', 'all'];
const TRANSFORMS: readonly KeyTransform[] = ['snake_case', 'kebab_case', 'camel_case', 'pascal_case'];
const SPEC_KEYS = new Set(['name', 'match', 'transform', 'target', 'remove']);

export class HeaderImportError extends Error {}

/** Validates one import_headers entry given as JSON (from the Lua table). */
export function parseImportSpec(v: JsonValue, index: number): HeaderImportSpec {
  const where = `import_headers: entry ${index}`;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !('name' in v)) {
    throw new HeaderImportError(`${where}: expected a table with a 'name' field`);
  }
  const o = v as Record<string, JsonValue>;
  for (const k of Object.keys(o)) if (!SPEC_KEYS.has(k)) throw new HeaderImportError(`${where}: unknown field '${k}'`);
  if (typeof o.name !== 'string' || o.name === '') throw new HeaderImportError(`${where}: 'name' must be a non-empty string`);
  const match = o.match ?? 'last';
  if (!MATCHES.includes(match as HeaderMatch)) throw new HeaderImportError(`${where}: 'match' must be one of ${MATCHES.join(', ')}`);
  const transform = o.transform ?? 'snake_case';
  if (!TRANSFORMS.includes(transform as KeyTransform)) throw new HeaderImportError(`${where}: 'transform' must be one of ${TRANSFORMS.join(', ')}`);
  if (o.target !== undefined && o.target !== null && typeof o.target !== 'string') throw new HeaderImportError(`${where}: 'target' must be a string`);
  if (typeof o.target === 'string' && o.name.endsWith('*')) throw new HeaderImportError(`${where}: 'target' cannot be used with the wildcard name '${o.name}'`);
  if (o.remove !== undefined && o.remove !== null && typeof o.remove !== 'boolean') throw new HeaderImportError(`${where}: 'remove' must be a boolean`);
  return {
    name: o.name,
    match: match as HeaderMatch,
    transform: transform as KeyTransform,
    target: typeof o.target === 'string' ? o.target : undefined,
    remove: o.remove === true,
  };
}

/** Words of a header name: split at non-alphanumerics and at lower->upper humps (`XMLHttp-Id` -> XML, Http, Id). */
function words(name: string): string[] {
  const out: string[] = [];
  for (const chunk of name.split(/[^A-Za-z0-9]+/)) {
    if (!chunk) continue;
    const parts = chunk.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [chunk];
    out.push(...parts);
  }
  return out;
}

function capitalize(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1).toLowerCase();
}

export function transformHeaderName(name: string, transform: KeyTransform): string {
  const w = words(name);
  switch (transform) {
    case 'snake_case':
      return w.map((x) => x.toLowerCase()).join('_');
    case 'kebab_case':
      return w.map((x) => x.toLowerCase()).join('-');
    case 'camel_case':
      return w.map((x, i) => (i === 0 ? x.toLowerCase() : capitalize(x))).join('');
    case 'pascal_case':
      return w.map(capitalize).join('');
  }
}

export interface HeaderImportResult {
  meta: Map<string, JsonValue>;
  /** The data with `remove = true` headers dropped, or undefined when unchanged. */
  data: Uint8Array | undefined;
}

/** Applies import_headers specs: per header, the first matching spec decides. */
export function importHeaders(data: Uint8Array, specs: readonly HeaderImportSpec[]): HeaderImportResult {
  const meta = new Map<string, JsonValue>();
  const toRemove = new Set<RawHeader>();
  for (const h of parseHeaderBlock(data).headers) {
    if (h.colon < 0) continue;
    const spec = specs.find((s) => headerNameMatches(s.name, h.name));
    if (!spec) continue;
    const key = spec.target ?? transformHeaderName(h.name, spec.transform);
    const value = decodeHeaderValue(rawHeaderValue(data, h));
    if (spec.match === 'all') {
      const list = (meta.get(key) as JsonValue[] | undefined) ?? [];
      list.push(value);
      meta.set(key, list);
    } else if (spec.match === 'last' || !meta.has(key)) {
      meta.set(key, value);
    }
    if (spec.remove) toRemove.add(h);
  }
  const rewritten = toRemove.size > 0 ? withoutHeaders(data, (h) => [...toRemove].some((r) => r.start === h.start)) : undefined;
  return { meta, data: rewritten };
}
