/**
 * kumo.domain_map.new (lua-api-more §3.1): domain patterns with a leading `*`
 * wildcard label, looked up label by label from the right. Keys are
 * case-sensitive; a longer exact key masks the wildcard of its parent.
 */
import type { LuaRuntime } from '../lua/runtime.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { defineMapClass, mapConstructor, type HostMap } from './support/lua-map.ts';
import type { StoredValue } from './support/stored-value.ts';

interface Node {
  value?: StoredValue;
  children: Map<string, Node>;
}

const newNode = (): Node => ({ children: new Map() });

export class DomainMap implements HostMap {
  private readonly root = newNode();
  constructor(readonly runtime: LuaRuntime) {}

  set(pattern: string, value: StoredValue): StoredValue | undefined {
    let node = this.root;
    for (const label of pattern.split('.').reverse()) {
      let child = node.children.get(label);
      if (!child) {
        child = newNode();
        node.children.set(label, child);
      }
      node = child;
    }
    const previous = node.value;
    node.value = value;
    return previous;
  }

  get(name: string): StoredValue | undefined {
    let node = this.root;
    for (const label of name.split('.').reverse()) {
      const exact = node.children.get(label);
      if (!exact) return node.children.get('*')?.value;
      node = exact;
    }
    // Every label matched: this node's own value, even when it has none (no wildcard fallback).
    return node.value;
  }
}

const DomainMapClass = defineMapClass<DomainMap>('DomainMap', 'kumo.domain_map');

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('domain_map').fn('new', mapConstructor(DomainMapClass, 'kumo.domain_map.new', () => new DomainMap(ctx.runtime), (map, k, v) => map.set(k, v)));
}
