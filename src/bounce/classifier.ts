/**
 * The bounce classifier (lua-api-more §6.1–§6.3): rules files map category
 * names to Rust-regex patterns; a response's one-line form is matched against
 * every pattern in rule order (file, then category, then pattern) and the
 * first match names the category, else `Uncategorized`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { foldLineBreaks } from '../records/response.ts';
import type { RecordResponse } from '../records/types.ts';
import { assertPlainRustRegex, translateRustRegex } from '../kumo/support/rust-regex.ts';

export const UNCATEGORIZED = 'Uncategorized';

export class BounceClassifierError extends Error {}

interface Rule {
  category: string;
  re: RegExp;
}

/** `550 5.1.1 no such user`: code, enhanced code if any, content on one line. */
export function responseSubject(response: Pick<RecordResponse, 'code' | 'enhanced_code' | 'content'>): string {
  const ec = response.enhanced_code;
  const enhanced = ec ? `${ec.class}.${ec.subject}.${ec.detail} ` : '';
  return `${response.code} ${enhanced}${foldLineBreaks(response.content)}`;
}

/** kumo-lua's own rules file, written from RFC 3463 (shipped in the package). */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../../assets/bounce_classifier/rfc3463.toml', import.meta.url));

/**
 * The rules file KumoMTA installs and its example policies name. Where it is
 * not installed, kumo-lua's own rules stand in for it (as our shaping helper
 * stands in for KumoMTA's default shaping.toml).
 */
export const KUMOMTA_RULES_FILE = '/opt/kumomta/share/bounce_classifier/iana.toml';

/** The file actually read for `path`: our own rules for KumoMTA's shipped file when that is absent. */
export function rulesFileFor(path: string, exists: (p: string) => boolean = existsSync): string {
  return path === KUMOMTA_RULES_FILE && !exists(path) ? DEFAULT_RULES_FILE : path;
}

function readRulesFile(named: string): Array<[string, unknown]> {
  const path = rulesFileFor(named);
  if (!path.endsWith('.toml') && !path.endsWith('.json')) {
    throw new BounceClassifierError(`bounce classifier rules file ${path}: the name must end in .toml or .json`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BounceClassifierError(`bounce classifier rules file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
  } catch (err) {
    throw new BounceClassifierError(`bounce classifier rules file ${path}: ${(err as Error).message}`);
  }
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new BounceClassifierError(`bounce classifier rules file ${path}: missing table \`rules\``);
  }
  return Object.entries(rules);
}

/** LRU of subject → category; Map iteration order is insertion order. */
class Lru {
  private readonly map = new Map<string, string>();
  constructor(private readonly capacity: number) {}
  get(key: string): string | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: string): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

export interface ClassifierOptions {
  files: string[];
  cacheSize?: number;
  uncategorizedCacheSize?: number;
}

export class BounceClassifier {
  private readonly rules: Rule[] = [];
  private readonly cache: Lru;
  private readonly uncategorizedCache: Lru;

  /** Reads and compiles every file now: a missing file, parse error or bad pattern throws. */
  constructor(options: ClassifierOptions) {
    for (const path of options.files) {
      for (const [category, patterns] of readRulesFile(path)) {
        if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string')) {
          throw new BounceClassifierError(`bounce classifier rules file ${path}: rules.${category} must be an array of strings`);
        }
        for (const pattern of patterns as string[]) {
          try {
            assertPlainRustRegex(pattern);
            const t = translateRustRegex(pattern);
            this.rules.push({ category, re: new RegExp(t.source, t.flags) });
          } catch (err) {
            throw new BounceClassifierError(`bounce classifier rules file ${path}: rules.${category}: ${(err as Error).message}`);
          }
        }
      }
    }
    this.cache = new Lru(options.cacheSize ?? 1024);
    this.uncategorizedCache = new Lru(options.uncategorizedCacheSize ?? 1024);
  }

  classify(response: Pick<RecordResponse, 'code' | 'enhanced_code' | 'content'>): string {
    const subject = responseSubject(response);
    const cached = this.cache.get(subject) ?? this.uncategorizedCache.get(subject);
    if (cached !== undefined) return cached;
    const category = this.rules.find((r) => r.re.test(subject))?.category ?? UNCATEGORIZED;
    (category === UNCATEGORIZED ? this.uncategorizedCache : this.cache).set(subject, category);
    return category;
  }
}
