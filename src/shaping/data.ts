/**
 * Merged shaping data and the lookup `get_egress_path_config(domain, source,
 * site)` (lua-api-more §11.3). Blocks are stored under `default`, a domain,
 * or (mx_rollup) the domain's MX site name; providers by name.
 */
import { createHash } from 'node:crypto';
import { isJsonObject, toJsonText, type JsonObject, type JsonValue } from '../util/json.ts';
import { mergeOptions, mergeSources, PROVIDER_IMPLIED, type Block, type Provider } from './block.ts';
import { ruleMatches } from './automation.ts';
import type { MxResolver } from './mx.ts';

const DNS_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/** A name the provider rules may be tried on (site names like `(a|b).x` are not). */
export function isDnsName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.');
  return name.length > 0 && name.length <= 253 && labels.every((l) => l.length <= 63 && DNS_LABEL.test(l));
}

export class ShapingData {
  readonly blocks = new Map<string, Block>();
  readonly providers = new Map<string, Provider>();
  /** For get_referenced_sources: block key => 'site:<s>' | 'domain:<d>' | 'provider:<p>'. */
  readonly labels = new Map<string, string>();

  constructor(readonly resolveMx: MxResolver) {}

  mergeBlock(key: string, label: string, block: Block, replaceBase: boolean): void {
    const prior = this.blocks.get(key);
    this.labels.set(key, label);
    if (!prior || replaceBase) {
      this.blocks.set(key, { options: { ...block.options }, sources: new Map(block.sources), automation: [...block.automation] });
      return;
    }
    mergeOptions(prior.options, block.options);
    mergeSources(prior.sources, block.sources);
    prior.automation.push(...block.automation);
  }

  mergeProvider(name: string, provider: Provider, replaceBase: boolean): void {
    const prior = this.providers.get(name);
    if (!prior || replaceBase) {
      this.providers.set(name, { options: { ...provider.options }, sources: new Map(provider.sources), match: [...provider.match], automation: [...provider.automation] });
      return;
    }
    mergeOptions(prior.options, provider.options);
    mergeSources(prior.sources, provider.sources);
    prior.match.push(...provider.match);
    prior.automation.push(...provider.automation);
  }

  /** Providers whose rules match `domain`, in definition order. */
  async matchingProviders(domain: string): Promise<[string, Provider][]> {
    const out: [string, Provider][] = [];
    const bare = domain.replace(/\.$/, '');
    let mxHosts: string[] | null | undefined;
    for (const [name, provider] of this.providers) {
      if (provider.match.some((m) => m.kind === 'DomainSuffix' && bare.endsWith(m.value.replace(/\.$/, '')))) {
        out.push([name, provider]);
        continue;
      }
      const mxRules = provider.match.filter((m) => m.kind !== 'DomainSuffix');
      if (mxRules.length === 0) continue;
      if (mxHosts === undefined) mxHosts = await this.resolveMx(bare).then((a) => a.hosts, () => null);
      if (!mxHosts || mxHosts.length === 0) continue;
      const hostMatches = (host: string) =>
        mxRules.some((m) => (m.kind === 'HostName' ? host === m.value.replace(/\.$/, '') : host.endsWith(m.value.replace(/\.$/, ''))));
      if (mxHosts.every(hostMatches)) out.push([name, provider]);
    }
    return out;
  }

  /** The option table for one ready queue (what make_egress_path gets). */
  async egressPathConfig(domain: string, source: string, site: string): Promise<JsonObject> {
    const out: JsonObject = {};
    const fromBlock = (key: string) => this.blocks.get(key);
    const def = fromBlock('default');
    if (def) mergeOptions(out, def.options);
    if (isDnsName(domain)) {
      const providers = await this.matchingProviders(domain);
      for (const [name, provider] of providers) applyProvider(out, name, source, provider.options);
      for (const [name, provider] of providers) {
        const perSource = provider.sources.get(source);
        if (perSource) applyProvider(out, name, source, perSource);
      }
    }
    const ordered = [fromBlock(site), site === domain ? undefined : fromBlock(domain)].filter((b): b is Block => b !== undefined);
    for (const block of ordered) mergeOptions(out, block.options);
    for (const block of ordered) {
      const perSource = block.sources.get(source);
      if (perSource) mergeOptions(out, perSource);
    }
    return out;
  }

  /**
   * Automation rules whose regex matches a record's response, from what shapes
   * its destination, in lookup order: `default`, the providers matching the
   * recipient's domain, the site block, the domain block.
   */
  async matchRules(record: JsonObject): Promise<JsonObject[]> {
    const response = isJsonObject(record.response) ? record.response : {};
    const text = typeof response.content === 'string' ? response.content : '';
    const site = typeof record.site === 'string' ? record.site : '';
    const recipient = Array.isArray(record.recipient) ? record.recipient[0] : record.recipient;
    const domain = typeof recipient === 'string' ? recipient.slice(recipient.lastIndexOf('@') + 1) : '';
    const blocks = [this.blocks.get('default'), site ? this.blocks.get(site) : undefined, domain && domain !== site ? this.blocks.get(domain) : undefined];
    const providers = domain && isDnsName(domain) && this.providers.size > 0 ? await this.matchingProviders(domain) : [];
    const rules = [blocks[0], ...providers.map(([, p]) => p), blocks[1], blocks[2]].flatMap((b) => (b ? b.automation : []));
    return rules.filter((rule) => ruleMatches(rule, text)).map((rule) => rule.raw);
  }

  referencedSources(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const add = (source: string, label: string) => (out[source] ??= []).push(label);
    for (const [key, block] of this.blocks) for (const source of block.sources.keys()) add(source, this.labels.get(key) ?? `domain:${key}`);
    for (const [name, provider] of this.providers) for (const source of provider.sources.keys()) add(source, `provider:${name}`);
    return out;
  }

  /** Hex SHA-256 of the merged data, to notice that a reload changed something. */
  hash(): string {
    const asJson = (sources: Map<string, JsonObject>): JsonObject => Object.fromEntries(sources);
    const doc: JsonObject = {
      blocks: Object.fromEntries([...this.blocks].map(([k, b]) => [k, { options: b.options, sources: asJson(b.sources), automation: b.automation.map((r) => r.raw) }])),
      providers: Object.fromEntries([...this.providers].map(([k, p]) => [k, { options: p.options, sources: asJson(p.sources), match: p.match.map((m) => ({ [m.kind]: m.value })), automation: p.automation.map((r) => r.raw) }])),
    };
    return createHash('sha256').update(toJsonText(doc as JsonValue)).digest('hex');
  }
}

/** A provider's options with `provider_*` keys turned into per-source `additional_*` entries. */
function applyProvider(out: JsonObject, name: string, source: string, options: JsonObject): void {
  const plain: JsonObject = {};
  const implied: JsonObject = { provider_name: name };
  for (const [key, value] of Object.entries(options)) {
    const rule = PROVIDER_IMPLIED[key as keyof typeof PROVIDER_IMPLIED];
    if (rule) {
      const [map, suffix] = rule;
      const entries = isJsonObject(implied[map]) ? (implied[map] as JsonObject) : {};
      entries[`shaping-provider-${name}-${source}-${suffix}`] = value;
      implied[map] = entries;
    } else {
      plain[key] = value;
    }
  }
  mergeOptions(out, plain);
  mergeOptions(out, implied);
}

