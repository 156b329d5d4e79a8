/**
 * Reading listener option tables. KumoMTA rejects unknown keys (serde
 * deny_unknown_fields); every error names the function and the option.
 */
import os from 'node:os';
import ipaddr from 'ipaddr.js';
import { isJsonObject, JsonFloat, type JsonObject, type JsonValue } from '../util/json.ts';
import { parseListen } from '../util/listen.ts';

export class ListenerConfigError extends Error {}

export class OptionReader {
  private readonly used = new Set<string>();

  constructor(
    private readonly where: string,
    private readonly table: JsonObject,
  ) {}

  static of(where: string, value: JsonValue | undefined): OptionReader {
    if (value === undefined || value === null) return new OptionReader(where, {});
    if (!isJsonObject(value) || Array.isArray(value)) throw new ListenerConfigError(`${where}: expected a table of options`);
    return new OptionReader(where, value);
  }

  private raw(key: string): JsonValue | undefined {
    this.used.add(key);
    const v = this.table[key];
    return v === null ? undefined : v;
  }

  fail(key: string, why: string): never {
    throw new ListenerConfigError(`${this.where}: option '${key}' ${why}`);
  }

  string(key: string, fallback: string): string {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  optString(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  integer(key: string, fallback: number): number {
    let v = this.raw(key);
    if (v === undefined) return fallback;
    if (v instanceof JsonFloat) v = v.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  }

  stringList(key: string, fallback: string[]): string[] {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    // An empty Lua table converts to {} — treat it as an empty list.
    if (isJsonObject(v) && !Array.isArray(v) && Object.keys(v).length === 0) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(key, 'must be a list of strings');
    return v as string[];
  }

  /** Raw access for structured options (trace_headers). */
  value(key: string): JsonValue | undefined {
    return this.raw(key);
  }

  /** Call after reading every option: unknown keys are an error. */
  finish(): void {
    const unknown = Object.keys(this.table).filter((k) => !this.used.has(k));
    if (unknown.length > 0) {
      throw new ListenerConfigError(`${this.where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`);
    }
  }
}

export function listenOption(r: OptionReader, fallback: string): { host: string; port: number; text: string } {
  const text = r.string('listen', fallback);
  try {
    return { ...parseListen(text), text };
  } catch (e) {
    return r.fail('listen', (e as Error).message);
  }
}

/** A set of IPs/CIDRs ("10.0.0.0/8", "::1"), matched with IPv4-mapped IPv6 folded to IPv4. */
export class CidrSet {
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(entries: readonly string[], what = 'address list') {
    this.ranges = entries.map((e) => {
      try {
        if (e.includes('/')) return ipaddr.parseCIDR(e);
        const ip = ipaddr.parse(e);
        return [ip, ip.kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number];
      } catch {
        throw new ListenerConfigError(`${what}: '${e}' is not an IP address or CIDR block`);
      }
    });
  }

  contains(address: string): boolean {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(address);
    } catch {
      return false;
    }
    return this.ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  }
}

export function cidrOption(r: OptionReader, key: string, fallback: string[]): CidrSet {
  const list = r.stringList(key, fallback);
  try {
    return new CidrSet(list, `option '${key}'`);
  } catch (e) {
    return r.fail(key, (e as Error).message.replace(/^option '[^']+': /, 'has an invalid entry: '));
  }
}

export function machineHostname(): string {
  return os.hostname();
}

/** "ip:port" with IPv6 in brackets; IPv4-mapped IPv6 shown as IPv4. */
export function formatSocketAddress(ip: string, port: number): string {
  const plain = plainIp(ip);
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}

export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
