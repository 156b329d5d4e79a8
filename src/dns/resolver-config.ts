/**
 * Turns `configure_resolver` / `define_resolver` / `configure_test_resolver`
 * arguments (as JSON, lua-api-more §4.4–§4.5) into a Resolver. The structured
 * form is a single-key object (`Hickory`, `Test`, `Aggregate`, `Unbound`) or
 * the string `HickorySystemConfig`; the plain form is
 * `{ name_servers, domain?, search?, options? }`.
 */
import { isIP } from 'node:net';
import type { JsonValue } from '../util/json.ts';
import { parseDuration } from '../util/duration.ts';
import { SystemResolver, type SystemResolverConfig } from './system-resolver.ts';
import { TestResolver, type TestResolverConfig } from './test-resolver.ts';
import type { DnsAnswer, RecordType, Resolver } from './types.ts';

export class ResolverConfigError extends Error {}

const isObject = (v: JsonValue | undefined): v is { [k: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (why: string): never => {
  throw new ResolverConfigError(why);
};

/** Lua cannot tell `{}` from an empty array: an empty table counts as an empty list. */
function list(v: JsonValue | undefined): JsonValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (isObject(v) && Object.keys(v).length === 0) return [];
  return undefined;
}

function strict(obj: { [k: string]: JsonValue }, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`unknown field \`${key}\` in ${what}, expected one of \`${allowed.join('`, `')}\``);
  }
}

/** Hickory's resolver options we accept; only timeout and attempts change node:dns's behaviour. */
const RESOLVER_OPTIONS = [
  'ndots', 'timeout', 'attempts', 'rotate', 'check_names', 'edns0', 'validate', 'ip_strategy', 'cache_size',
  'use_hosts_file', 'positive_min_ttl', 'negative_min_ttl', 'positive_max_ttl', 'negative_max_ttl',
  'num_concurrent_reqs', 'preserve_intermediates', 'try_tcp_on_error', 'server_ordering_strategy',
  'recursion_desired', 'authentic_data', 'shuffle_dns_servers', 'os_port_selection', 'case_randomization',
  'trust_anchor', 'avoid_local_udp_ports',
] as const;

/** Hickory serialises durations as `{ secs, nanos }`; policies also write seconds or humantime. */
function durationMs(v: JsonValue, what: string): number {
  if (isObject(v) && typeof v.secs === 'number') return v.secs * 1000 + (typeof v.nanos === 'number' ? v.nanos / 1e6 : 0);
  try {
    return parseDuration(v, what);
  } catch (err) {
    return fail((err as Error).message);
  }
}

function nameServer(v: JsonValue): { server: string; bind?: string } {
  if (typeof v === 'string') {
    const ok = isIP(v) || /^\[[^\]]+\]:\d+$/.test(v) || (/^[^:]+:\d+$/.test(v) && isIP(v.split(':')[0]!));
    if (!ok) fail(`invalid name server address ${JSON.stringify(v)}, expected ip:port`);
    return { server: v };
  }
  if (!isObject(v)) return fail(`invalid name server ${JSON.stringify(v)}`);
  strict(v, ['socket_addr', 'protocol', 'trust_negative_responses', 'bind_addr'], 'name server');
  if (v.protocol !== undefined && !['udp', 'tcp', 'udp_then_tcp'].includes(String(v.protocol))) fail(`unknown protocol ${JSON.stringify(v.protocol)}`);
  const { server } = nameServer(v.socket_addr ?? fail('missing field `socket_addr`'));
  return typeof v.bind_addr === 'string' ? { server, bind: v.bind_addr.replace(/:\d+$/, '') } : { server };
}

/** The plain form (also `Hickory = plain`). */
export function parsePlainConfig(v: JsonValue): SystemResolverConfig {
  if (!isObject(v)) return fail(`expected a table with name_servers, got ${JSON.stringify(v)}`);
  strict(v, ['name_servers', 'domain', 'search', 'options'], 'resolver config');
  const serverList = list(v.name_servers) ?? fail(v.name_servers === undefined ? 'missing field `name_servers`' : 'name_servers must be an array');
  const servers = serverList.map(nameServer);
  const config: SystemResolverConfig = { nameServers: servers.map((s) => s.server) };
  const bind = servers.find((s) => s.bind)?.bind;
  if (bind) config.bindAddress = bind;
  if (v.options !== undefined) {
    if (!isObject(v.options)) fail('options must be a table');
    const options = v.options as { [k: string]: JsonValue };
    strict(options, RESOLVER_OPTIONS, 'resolver options');
    if (options.timeout !== undefined) config.timeoutMs = durationMs(options.timeout, 'options.timeout');
    if (options.use_hosts_file !== undefined) config.useHostsFile = options.use_hosts_file !== false && options.use_hosts_file !== 'Never';
    if (options.attempts !== undefined) {
      if (typeof options.attempts !== 'number' || options.attempts < 1) fail('options.attempts must be a positive integer');
      config.attempts = options.attempts as number;
    }
  }
  return config;
}

/** `configure_test_resolver`'s argument: an array of zones, or `{ zones, servfail }`. */
export function parseTestConfig(v: JsonValue): TestResolverConfig {
  const topList = list(v);
  const zoneList = topList ?? (isObject(v) ? (list(v.zones ?? []) ?? fail('zones must be an array')) : fail(`expected an array of zones or { zones, servfail }, got ${JSON.stringify(v)}`));
  const zones = zoneList.map((z) => {
    if (typeof z === 'string') return { text: z, secure: false };
    if (isObject(z) && typeof z.zone === 'string') return { text: z.zone, secure: z.secure === true };
    return fail(`a zone must be a string or { zone = string, secure = bool }, got ${JSON.stringify(z)}`);
  });
  const servfailRaw = topList === undefined && isObject(v) ? list(v.servfail ?? []) : [];
  if (!servfailRaw || servfailRaw.some((s) => typeof s !== 'string')) fail('servfail must be an array of names');
  return { zones, servfail: servfailRaw as string[] };
}

/** Children asked in order: the first answer with records wins, else the first answer. */
class AggregateResolver implements Resolver {
  constructor(private readonly children: Resolver[]) {}
  async query(name: string, type: RecordType): Promise<DnsAnswer> {
    let first: DnsAnswer | undefined;
    let error: unknown;
    for (const child of this.children) {
      try {
        const answer = await child.query(name, type);
        if (answer.records.length > 0) return answer;
        first ??= answer;
      } catch (err) {
        error ??= err;
      }
    }
    if (first) return first;
    throw error;
  }
}

function structured(v: JsonValue): Resolver {
  if (v === 'HickorySystemConfig') return new SystemResolver({ nameServers: [] });
  if (!isObject(v) || Object.keys(v).length !== 1) return fail(`expected HickorySystemConfig or a table with one of Hickory, Unbound, Test, Aggregate`);
  const [kind, body] = Object.entries(v)[0]!;
  switch (kind) {
    case 'Hickory':
      return new SystemResolver(parsePlainConfig(body));
    case 'Test':
      return new TestResolver(parseTestConfig(body));
    case 'Aggregate':
      return new AggregateResolver((list(body) ?? fail('Aggregate expects an array of resolver configs')).map(structured));
    case 'Unbound':
      return fail('the Unbound resolver is not provided by kumo-lua (it has no libunbound); use the plain form or Hickory');
    default:
      return fail(`unknown resolver kind \`${kind}\`, expected one of Hickory, HickorySystemConfig, Unbound, Test, Aggregate`);
  }
}

/** `configure_resolver` / `define_resolver`: the structured form, else the plain one; an error quotes both failures. */
export function buildResolver(v: JsonValue, allowPlain: boolean): Resolver {
  try {
    return structured(v);
  } catch (structuredError) {
    if (!allowPlain) throw structuredError;
    try {
      return new SystemResolver(parsePlainConfig(v));
    } catch (plainError) {
      throw new ResolverConfigError(
        `invalid resolver config: as a structured config: ${(structuredError as Error).message}; as a plain config: ${(plainError as Error).message}`,
      );
    }
  }
}
