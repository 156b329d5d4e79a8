/**
 * Listener domains (lua-api-more.md §2): what `kumo.make_listener_domain`
 * builds, how `get_listener_domain` answers are cached per SMTP session, and
 * the relay decision they feed at RCPT TO and after DATA.
 */
import ipaddr from 'ipaddr.js';
import { parseDurationMs } from '../../logging/humantime.ts';
import { isJsonObject, JsonFloat, type JsonObject, type JsonValue } from '../../util/json.ts';
import { CidrSet } from '../options.ts';

export type ReportDisposition = 'Ignore' | 'LogThenRelay' | 'LogThenDrop';
const DISPOSITIONS: readonly ReportDisposition[] = ['Ignore', 'LogThenRelay', 'LogThenDrop'];

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class ListenerDomain {
  private readonly relayFromSet: CidrSet;

  constructor(
    readonly relayTo: boolean,
    /** Strict CIDR blocks (bare IPs keep their text). */
    readonly relayFrom: readonly string[],
    readonly logOob: ReportDisposition,
    readonly logArf: ReportDisposition,
  ) {
    this.relayFromSet = new CidrSet(relayFrom, 'relay_from');
  }

  /** True when `peerIp` is inside one of the `relay_from` blocks. */
  relayFromContains(peerIp: string): boolean {
    return this.relayFromSet.contains(peerIp);
  }

  /** What the userdata reads back as (`ld.relay_to`, `pairs(ld)`). */
  toJson(): JsonObject {
    return { relay_to: this.relayTo, relay_from: [...this.relayFrom], log_oob: this.logOob, log_arf: this.logArf };
  }
}

class ListenerDomainError extends Error {}

/** Strict CIDR: host bits must be zero; a bare IP is a /32 or /128. */
export function parseStrictCidr(text: string): Cidr {
  if (!text.includes('/')) {
    if (!ipaddr.isValid(text)) throw new ListenerDomainError(`invalid IP address ${JSON.stringify(text)}`);
    const ip = ipaddr.parse(text);
    return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  }
  let net: Cidr;
  try {
    net = ipaddr.parseCIDR(text);
  } catch {
    throw new ListenerDomainError(`invalid CIDR ${JSON.stringify(text)}`);
  }
  const [ip, bits] = net;
  const network = ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== ip.toString()) {
    throw new ListenerDomainError(`invalid CIDR ${JSON.stringify(text)}: host bits are set; did you mean ${network.toString()}/${bits}?`);
  }
  return net;
}

function disposition(key: string, v: JsonValue): ReportDisposition {
  if (v === true) return 'LogThenRelay';
  if (v === false) return 'Ignore';
  if (typeof v === 'string' && (DISPOSITIONS as readonly string[]).includes(v)) return v as ReportDisposition;
  const got = typeof v === 'string' ? `unknown variant \`${v}\`` : `invalid type for \`${key}\``;
  throw new ListenerDomainError(`${got}, expected one of \`Ignore\`, \`LogThenRelay\`, \`LogThenDrop\` or a boolean`);
}

/**
 * `kumo.make_listener_domain` parameters (strict: unknown keys raise). Throws
 * the bare reason; the Lua binding wraps it in serde's "while processing".
 */
export function parseListenerDomain(params: JsonValue): ListenerDomain {
  if (!isJsonObject(params) || Array.isArray(params)) throw new ListenerDomainError('invalid type: expected a map');
  let relayTo = false;
  const relayFrom: string[] = [];
  let logOob: ReportDisposition = 'Ignore';
  let logArf: ReportDisposition = 'Ignore';
  for (const [key, value] of Object.entries(params)) {
    if (value === null) continue;
    switch (key) {
      case 'relay_to':
        if (typeof value !== 'boolean') throw new ListenerDomainError(`invalid type: ${JSON.stringify(value)}, expected a boolean for \`relay_to\``);
        relayTo = value;
        break;
      case 'relay_from': {
        // An empty Lua table arrives as {}.
        const list = isJsonObject(value) && !Array.isArray(value) && Object.keys(value).length === 0 ? [] : value;
        if (!Array.isArray(list)) throw new ListenerDomainError('invalid type: expected a sequence of CIDR strings for `relay_from`');
        for (const entry of list) {
          if (typeof entry !== 'string') throw new ListenerDomainError(`invalid type: ${JSON.stringify(entry)}, expected a CIDR string in \`relay_from\``);
          parseStrictCidr(entry);
          relayFrom.push(entry);
        }
        break;
      }
      case 'log_oob':
        logOob = disposition(key, value);
        break;
      case 'log_arf':
        logArf = disposition(key, value);
        break;
      case 'ttl': {
        // Deprecated and ignored, but still has to be a duration.
        const v = value instanceof JsonFloat ? value.value : value;
        if (typeof v !== 'number' && typeof v !== 'string') throw new ListenerDomainError('invalid type for `ttl`, expected a duration');
        parseDurationMs('ttl', v);
        break;
      }
      default:
        throw new ListenerDomainError(`unknown field \`${key}\`, expected one of \`relay_to\`, \`relay_from\`, \`log_oob\`, \`log_arf\`, \`ttl\``);
    }
  }
  return new ListenerDomain(relayTo, relayFrom, logOob, logArf);
}

/** What the listener domains of one envelope allow (lua-api-more.md §2.3). */
export interface RelayDecision {
  relay: boolean;
  logOob: ReportDisposition;
  logArf: ReportDisposition;
}

export function relayDecision(
  peerIp: string,
  peerIsRelayHost: boolean,
  senderEntry: ListenerDomain | null,
  recipientEntry: ListenerDomain | null,
): RelayDecision {
  const relay = peerIsRelayHost || (senderEntry?.relayFromContains(peerIp) ?? false) || (recipientEntry?.relayTo ?? false);
  return { relay, logOob: recipientEntry?.logOob ?? 'Ignore', logArf: recipientEntry?.logArf ?? 'Ignore' };
}

/** RCPT is accepted when it may be relayed or when reports to it are logged. */
export function acceptsRecipient(d: RelayDecision): boolean {
  return d.relay || d.logArf !== 'Ignore' || d.logOob !== 'Ignore';
}

/** The domain part of an envelope address as the client sent it ("" for `<>`). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}

const CACHE_LIMIT = 17;

/** Per-session cache of `get_listener_domain` answers, `null` included. */
export class ListenerDomainCache {
  private readonly entries = new Map<string, ListenerDomain | null>();

  constructor(private readonly lookup: (domain: string) => Promise<ListenerDomain | null>) {}

  async get(domain: string): Promise<ListenerDomain | null> {
    if (this.entries.has(domain)) return this.entries.get(domain)!;
    const entry = await this.lookup(domain);
    if (this.entries.size >= CACHE_LIMIT) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(domain, entry);
    return entry;
  }
}
