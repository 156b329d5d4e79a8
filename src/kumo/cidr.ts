/**
 * kumo.cidr.make_map (lua-api-more §3.2): networks → values, lookup by the
 * longest prefix containing an address. Keys may be `ip`, `ip/len`, `[ip]`,
 * `[ip]:port` or `ip:port`; anything else raises (KumoMTA's code, not its docs).
 */
import ipaddr from 'ipaddr.js';
import type { LuaRuntime } from '../lua/runtime.ts';
import { parseDomainLiteral, splitPort } from '../dns/names.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { defineMapClass, mapConstructor, type HostMap } from './support/lua-map.ts';
import type { StoredValue } from './support/stored-value.ts';

interface Network {
  kind: 'ipv4' | 'ipv6';
  bytes: number[];
  prefix: number;
}

function prefixMatches(net: Network, bytes: number[], prefix: number): boolean {
  if (prefix < net.prefix) return false;
  for (let bit = 0; bit < net.prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((net.bytes[bit >> 3]! & mask) !== (bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Parses a key as a network; throws naming the key when it is not one. */
export function parseNetworkKey(key: string): Network {
  const fromAddr = (text: string): Network | null => {
    if (!ipaddr.isValid(text)) return null;
    const addr = ipaddr.parse(text);
    const bytes = addr.toByteArray();
    return { kind: addr.kind(), bytes, prefix: bytes.length * 8 };
  };
  if (key.includes('/')) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      parsed = ipaddr.parseCIDR(key);
    } catch {
      throw new Error(`invalid CIDR ${JSON.stringify(key)}`);
    }
    const [addr, prefix] = parsed;
    const bytes = addr.toByteArray();
    const net: Network = { kind: addr.kind(), bytes, prefix };
    // Strict: host bits must be zero.
    const network = ipaddr.parse(addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(key).toString() : ipaddr.IPv6.networkAddressFromCIDR(key).toString());
    if (network.toByteArray().some((b, i) => b !== bytes[i])) throw new Error(`invalid CIDR ${JSON.stringify(key)}: host bits set`);
    return net;
  }
  const direct = fromAddr(key);
  if (direct) return direct;
  let literal = null;
  try {
    literal = parseDomainLiteral(key);
  } catch {
    literal = null;
  }
  const viaLiteral = literal ? fromAddr(literal.address) : null;
  if (viaLiteral) return viaLiteral;
  const { host, port } = splitPort(key);
  const viaPort = port !== null ? fromAddr(host) : null;
  if (viaPort) return viaPort;
  throw new Error(`kumo.cidr: ${JSON.stringify(key)} is not an IP address or CIDR network`);
}

export class CidrMap implements HostMap {
  private readonly entries: Array<{ net: Network; value: StoredValue }> = [];
  constructor(readonly runtime: LuaRuntime) {}

  set(key: string, value: StoredValue): StoredValue | undefined {
    const net = parseNetworkKey(key);
    const same = this.entries.find((e) => e.net.kind === net.kind && e.net.prefix === net.prefix && e.net.bytes.every((b, i) => b === net.bytes[i]));
    if (same) {
      const previous = same.value;
      same.value = value;
      return previous;
    }
    this.entries.push({ net, value });
    return undefined;
  }

  get(key: string): StoredValue | undefined {
    const probe = parseNetworkKey(key);
    let best: { net: Network; value: StoredValue } | undefined;
    for (const e of this.entries) {
      if (e.net.kind !== probe.kind || !prefixMatches(e.net, probe.bytes, probe.prefix)) continue;
      if (!best || e.net.prefix > best.net.prefix) best = e;
    }
    return best?.value;
  }
}

const CidrMapClass = defineMapClass<CidrMap>('CidrMap', 'kumo.cidr map');

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('cidr').fn('make_map', mapConstructor(CidrMapClass, 'kumo.cidr.make_map', () => new CidrMap(ctx.runtime), (map, k, v) => map.set(k, v)));
}
