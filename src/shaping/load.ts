/**
 * `kumo.shaping.load(paths, options)`: read every file (local or http(s)),
 * parse TOML or JSON, merge them in order into ShapingData, and report
 * problems at the level the options give each kind.
 */
import fs from 'node:fs/promises';
import { tomlToJson } from '../kumo/support/toml-codec.ts';
import { parseJson } from '../kumo/support/json-text.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseDuration } from '../util/duration.ts';
import { ShapingData } from './data.ts';
import { parseDomainBlock, parseProvider } from './block.ts';
import type { MxResolver } from './mx.ts';

export type Level = 'Ignore' | 'Warn' | 'Error';
const LEVELS: readonly Level[] = ['Ignore', 'Warn', 'Error'];

export interface LoadOptions {
  aliased_site: Level;
  dns_fail: Level;
  null_mx: Level;
  provider_overlap: Level;
  remote_load: Level;
  local_load: Level;
  skip_remote: boolean;
  http_timeout_ms: number;
}

const LEVEL_KEYS = ['aliased_site', 'dns_fail', 'null_mx', 'provider_overlap', 'remote_load', 'local_load'] as const;

/** Strict: unknown keys and bad levels raise, naming the key. */
export function parseLoadOptions(raw: JsonValue | undefined): LoadOptions {
  const out: LoadOptions = { aliased_site: 'Ignore', dns_fail: 'Ignore', null_mx: 'Ignore', provider_overlap: 'Ignore', remote_load: 'Ignore', local_load: 'Error', skip_remote: false, http_timeout_ms: 5000 };
  if (raw === undefined || raw === null) return out;
  if (!isJsonObject(raw)) throw new Error('kumo.shaping.load: options must be a table');
  const known = [...LEVEL_KEYS, 'skip_remote', 'http_timeout'];
  for (const [key, value] of Object.entries(raw)) {
    if (!known.includes(key)) throw new Error(`kumo.shaping.load: unknown field \`${key}\`, expected one of ${known.map((k) => `\`${k}\``).join(', ')}`);
    if (key === 'skip_remote') {
      if (typeof value !== 'boolean') throw new Error('kumo.shaping.load: skip_remote must be a boolean');
      out.skip_remote = value;
    } else if (key === 'http_timeout') {
      out.http_timeout_ms = parseDuration(value, 'http_timeout');
    } else {
      if (!LEVELS.includes(value as Level)) throw new Error(`kumo.shaping.load: ${key}: unknown variant ${JSON.stringify(value)}, expected one of \`Ignore\`, \`Warn\`, \`Error\``);
      out[key as (typeof LEVEL_KEYS)[number]] = value as Level;
    }
  }
  return out;
}

export interface LoadDeps {
  resolveMx: MxResolver;
  /** GET a URL, resolving to the body text; rejects on a non-2xx status. */
  fetchText: (url: string, timeoutMs: number) => Promise<string>;
}

export interface LoadResult {
  data: ShapingData;
  errors: string[];
  warnings: string[];
}

function parseText(name: string, text: string): JsonValue {
  const lower = name.replace(/[?#].*$/, '').toLowerCase();
  if (lower.endsWith('.toml')) return tomlToJson(text);
  if (lower.endsWith('.json')) return parseJson(text);
  try {
    return tomlToJson(text);
  } catch {
    return parseJson(text);
  }
}

export async function loadShaping(paths: readonly string[], options: LoadOptions, deps: LoadDeps): Promise<LoadResult> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const report = (level: Level, message: string) => {
    if (level === 'Error') errors.push(message);
    else if (level === 'Warn') warnings.push(message);
  };
  const data = new ShapingData(deps.resolveMx);
  const siteOwners = new Map<string, string>();

  for (const path of paths) {
    const remote = /^https?:\/\//i.test(path);
    if (remote && options.skip_remote) continue;
    let doc: JsonValue;
    try {
      const text = remote ? await deps.fetchText(path, options.http_timeout_ms) : await fs.readFile(path, 'utf8');
      doc = parseText(path, text);
    } catch (err) {
      report(remote ? options.remote_load : options.local_load, `failed to load ${path}: ${(err as Error).message}`);
      continue;
    }
    if (!isJsonObject(doc)) {
      report(remote ? options.remote_load : options.local_load, `${path}: expected a table at the top level`);
      continue;
    }
    await mergeDocument(data, doc, path, { report, options, warnings, siteOwners });
  }
  return { data, errors, warnings };
}

interface MergeState {
  report: (level: Level, message: string) => void;
  options: LoadOptions;
  warnings: string[];
  siteOwners: Map<string, string>;
}

async function mergeDocument(data: ShapingData, doc: JsonObject, path: string, st: MergeState): Promise<void> {
  for (const [key, raw] of Object.entries(doc)) {
    if (key === 'provider') {
      if (!isJsonObject(raw)) throw new Error(`${path}: provider must be a table of providers`);
      for (const [name, body] of Object.entries(raw)) {
        const { provider, replaceBase } = parseProvider(body, `${path}: provider."${name}"`);
        data.mergeProvider(name, provider, replaceBase);
      }
      continue;
    }
    const where = `${path}: "${key}"`;
    const { block, mxRollup, replaceBase } = parseDomainBlock(raw, where);
    if (key === 'default') {
      data.mergeBlock('default', 'domain:default', block, replaceBase);
      continue;
    }
    if (!key.includes('.')) {
      st.warnings.push(`${where}: a single-label domain name; quote names that contain dots (["example.com"]), or TOML reads them as nested tables`);
    }
    if (!mxRollup) {
      data.mergeBlock(key, `domain:${key}`, block, replaceBase);
      continue;
    }
    let site: string;
    try {
      const answer = await data.resolveMx(key);
      if (answer.hosts.length === 1 && answer.hosts[0] === '.') {
        st.report(st.options.null_mx, `${where}: ${key} has a null MX; its block is skipped`);
        continue;
      }
      site = answer.siteName;
    } catch (err) {
      st.report(st.options.dns_fail, `${where}: cannot resolve the MX of ${key} for mx_rollup, its block is skipped: ${(err as Error).message}`);
      continue;
    }
    const owner = st.siteOwners.get(site);
    if (owner !== undefined && owner !== key) {
      st.report(st.options.aliased_site, `${where}: ${key} and ${owner} share the MX site ${site}; their blocks are merged`);
    }
    st.siteOwners.set(site, key);
    data.mergeBlock(site, `site:${site}`, block, replaceBase);
  }
  await reportProviderOverlaps(data, st);
}

async function reportProviderOverlaps(data: ShapingData, st: MergeState): Promise<void> {
  if (st.options.provider_overlap === 'Ignore' || data.providers.size < 2) return;
  for (const [key, label] of data.labels) {
    if (!label.startsWith('domain:') || key === 'default') continue;
    const matched = (await data.matchingProviders(key)).map(([name]) => name);
    if (matched.length > 1) st.report(st.options.provider_overlap, `${key} matches several providers: ${matched.join(', ')}`);
  }
}
