/**
 * kumo.regex_set_map.new (lua-api-more §3.3): an immutable `{ [regex] = value }`
 * searched unanchored; with several matches the winner is unspecified (here:
 * the first pattern in the initial table's iteration order).
 */
import type { LuaRuntime } from '../lua/runtime.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { assertPlainRustRegex, translateRustRegex } from './support/rust-regex.ts';
import { defineMapClass, mapConstructor, type HostMap } from './support/lua-map.ts';
import type { StoredValue } from './support/stored-value.ts';

export class RegexSetMap implements HostMap {
  private readonly rules: Array<{ re: RegExp; value: StoredValue }> = [];
  constructor(readonly runtime: LuaRuntime) {}

  add(pattern: string, value: StoredValue): void {
    let re: RegExp;
    try {
      assertPlainRustRegex(pattern);
      const t = translateRustRegex(pattern);
      re = new RegExp(t.source, t.flags);
    } catch (err) {
      throw new Error(`compiling rules: ${(err as Error).message}`);
    }
    this.rules.push({ re, value });
  }

  get(text: string): StoredValue | undefined {
    return this.rules.find((r) => r.re.test(text))?.value;
  }
}

const RegexSetMapClass = defineMapClass<RegexSetMap>('RegexSetMap', 'kumo.regex_set_map');

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('regex_set_map').fn('new', mapConstructor(RegexSetMapClass, 'kumo.regex_set_map.new', () => new RegexSetMap(ctx.runtime), (map, k, v) => map.add(k, v)));
}
