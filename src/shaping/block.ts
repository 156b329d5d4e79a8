/**
 * One shaping block (`["default"]`, `["example.com"]`, a provider or a
 * `sources` entry): egress path options plus the keys that steer merging.
 * Option tables merge key by key, except the three `additional_*` maps whose
 * entries merge.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseEgressPathConfig } from '../queue/egress-path-config.ts';
import { parseAutomationRule, type AutomationRule } from './automation.ts';

export const MERGED_MAPS = ['additional_connection_limits', 'additional_message_rate_throttles', 'additional_source_selection_rates'] as const;

/** Provider-only keys that turn into per-source `additional_*` entries. */
export const PROVIDER_IMPLIED = {
  provider_connection_limit: ['additional_connection_limits', 'limit'],
  provider_max_message_rate: ['additional_message_rate_throttles', 'rate'],
  provider_source_selection_rate: ['additional_source_selection_rates', 'selection-rate'],
} as const;

export interface Block {
  options: JsonObject;
  sources: Map<string, JsonObject>;
  automation: AutomationRule[];
}

export interface ProviderMatch {
  kind: 'MXSuffix' | 'DomainSuffix' | 'HostName';
  value: string;
}

export interface Provider {
  options: JsonObject;
  sources: Map<string, JsonObject>;
  match: ProviderMatch[];
  /** KumoMTA's stock shaping.toml puts TSA rules on providers too (`[[provider."yahoo".automation]]`). */
  automation: AutomationRule[];
}

export function emptyBlock(): Block {
  return { options: {}, sources: new Map(), automation: [] };
}

/** Overlays `src` on `dest`: plain keys replace, the `additional_*` maps merge per entry. */
export function mergeOptions(dest: JsonObject, src: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(src)) {
    const prior = dest[key];
    if ((MERGED_MAPS as readonly string[]).includes(key) && isJsonObject(prior) && isJsonObject(value)) {
      dest[key] = { ...prior, ...value };
    } else {
      dest[key] = value;
    }
  }
  return dest;
}

export function mergeSources(dest: Map<string, JsonObject>, src: Map<string, JsonObject>): void {
  for (const [name, options] of src) dest.set(name, mergeOptions({ ...(dest.get(name) ?? {}) }, options));
}

/** Checks options by building the egress path config they describe; throws naming `where`. */
export function checkPathOptions(options: JsonObject, where: string): void {
  try {
    parseEgressPathConfig(options);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

function objectAt(value: JsonValue | undefined, where: string): JsonObject {
  if (!isJsonObject(value)) throw new Error(`${where} must be a table`);
  return value;
}

function parseSources(value: JsonValue | undefined, where: string, allowed: (key: string) => boolean): Map<string, JsonObject> {
  const sources = new Map<string, JsonObject>();
  if (value === undefined) return sources;
  for (const [name, raw] of Object.entries(objectAt(value, `${where}.sources`))) {
    const options: JsonObject = {};
    for (const [key, v] of Object.entries(objectAt(raw, `${where}.sources."${name}"`))) {
      if (!allowed(key)) options[key] = v;
    }
    checkPathOptions(options, `${where}.sources."${name}"`);
    sources.set(name, objectAt(raw, `${where}.sources."${name}"`));
  }
  return sources;
}

export interface ParsedDomainBlock {
  block: Block;
  mxRollup: boolean;
  replaceBase: boolean;
}

/** A block's `[[...automation]]` array of TSA rules. */
function parseAutomation(value: JsonValue, where: string): AutomationRule[] {
  if (!Array.isArray(value)) throw new Error(`${where}.automation must be an array of rules ([[...automation]])`);
  return value.map((rule, i) => parseAutomationRule(rule, `${where}.automation[${i + 1}]`));
}

/** A `default` or domain block as written in a file. */
export function parseDomainBlock(raw: JsonValue, where: string): ParsedDomainBlock {
  const obj = objectAt(raw, where);
  const options: JsonObject = {};
  let mxRollup = true;
  let replaceBase = false;
  let automation: AutomationRule[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'mx_rollup' || key === 'replace_base') {
      if (typeof value !== 'boolean') throw new Error(`${where}.${key} must be a boolean`);
      if (key === 'mx_rollup') mxRollup = value;
      else replaceBase = value;
    } else if (key === 'automation') {
      automation = parseAutomation(value, where);
    } else if (key !== 'sources') {
      options[key] = value;
    }
  }
  checkPathOptions(options, where);
  return { block: { options, sources: parseSources(obj.sources, where, () => false), automation }, mxRollup, replaceBase };
}

function parseMatch(value: JsonValue | undefined, where: string): ProviderMatch[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where}.match must be an array like [ { MXSuffix = ".mx.example" } ]`);
  return value.map((entry, i) => {
    const obj = objectAt(entry, `${where}.match[${i + 1}]`);
    const keys = Object.keys(obj);
    const kind = keys[0];
    if (keys.length !== 1 || (kind !== 'MXSuffix' && kind !== 'DomainSuffix' && kind !== 'HostName') || typeof obj[kind] !== 'string') {
      throw new Error(`${where}.match[${i + 1}] must be one of { MXSuffix = "..." }, { DomainSuffix = "..." }, { HostName = "..." }`);
    }
    return { kind, value: obj[kind] as string };
  });
}

const isProviderKey = (key: string) => key in PROVIDER_IMPLIED;

/** A `[provider."<P>"]` block. */
export function parseProvider(raw: JsonValue, where: string): { provider: Provider; replaceBase: boolean } {
  const obj = objectAt(raw, where);
  const options: JsonObject = {};
  let replaceBase = false;
  let automation: AutomationRule[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'replace_base') {
      if (typeof value !== 'boolean') throw new Error(`${where}.replace_base must be a boolean`);
      replaceBase = value;
    } else if (key === 'automation') {
      automation = parseAutomation(value, where);
    } else if (key !== 'match' && key !== 'sources') {
      options[key] = value;
    }
  }
  const pathOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !isProviderKey(k)));
  checkPathOptions(pathOptions, where);
  return { provider: { options, sources: parseSources(obj.sources, where, isProviderKey), match: parseMatch(obj.match, where), automation }, replaceBase };
}
