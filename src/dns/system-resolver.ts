/**
 * The real resolver: node:dns promises with one `Resolver` instance per
 * configured resolver, so `setServers` of one never affects another. node:dns
 * does not report DNSSEC validation, so answers are never `secure`.
 */
import { promises as nodeDns } from 'node:dns';
import { loadHostsFile, type HostsTable } from './hosts-file.ts';
import { DnsQueryError, emptyAnswer, toFqdn, type DnsAnswer, type DnsRecord, type RecordType, type Resolver } from './types.ts';

export interface SystemResolverConfig {
  /** `ip:port` / `[v6]:port` / bare ip; empty = the system's servers. */
  nameServers: string[];
  timeoutMs?: number;
  attempts?: number;
  /** Source address for queries (`bind_addr`). */
  bindAddress?: string;
  /** Answer A/AAAA from /etc/hosts first (Hickory's `use_hosts_file`, default true). */
  useHostsFile?: boolean;
}

/** Answers from real DNS carry no TTL through node's API (except A/AAAA); reuse them this long. */
const DEFAULT_TTL_SECS = 300;

const absolute = (name: string): string => toFqdn(name);

export class SystemResolver implements Resolver {
  private readonly resolver: nodeDns.Resolver;
  private hosts: HostsTable | null | undefined;

  constructor(config: SystemResolverConfig) {
    this.resolver = new nodeDns.Resolver({
      ...(config.timeoutMs !== undefined ? { timeout: config.timeoutMs } : {}),
      ...(config.attempts !== undefined ? { tries: config.attempts } : {}),
    });
    if (config.nameServers.length > 0) this.resolver.setServers(config.nameServers);
    this.hosts = config.useHostsFile === false ? null : undefined;
    if (config.bindAddress) {
      if (config.bindAddress.includes(':')) this.resolver.setLocalAddress('0.0.0.0', config.bindAddress);
      else this.resolver.setLocalAddress(config.bindAddress);
    }
  }

  async query(rawName: string, type: RecordType): Promise<DnsAnswer> {
    if (type === 'A' || type === 'AAAA') {
      if (this.hosts === undefined) this.hosts = loadHostsFile();
      const entry = this.hosts?.get(toFqdn(rawName));
      if (entry && entry[type].length > 0) {
        return { records: entry[type].map((address) => ({ type, address })), nxdomain: false, secure: false, ttlSecs: DEFAULT_TTL_SECS };
      }
    }
    // RFC 6761: localhost never goes to the network; its other types have no data (so MX is implicit).
    const fqdn = toFqdn(rawName);
    if (fqdn === 'localhost.' || fqdn.endsWith('.localhost.')) {
      return type === 'A' || type === 'AAAA'
        ? { records: [{ type, address: type === 'A' ? '127.0.0.1' : '::1' }], nxdomain: false, secure: false, ttlSecs: DEFAULT_TTL_SECS }
        : emptyAnswer(false, DEFAULT_TTL_SECS);
    }
    const name = rawName.endsWith('.') ? rawName.slice(0, -1) : rawName;
    try {
      const records = await this.fetch(name, type);
      const ttl = records.ttl ?? DEFAULT_TTL_SECS;
      return { records: records.list, nxdomain: false, secure: false, ttlSecs: ttl };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (code === 'ENOTFOUND') return emptyAnswer(true, DEFAULT_TTL_SECS);
      if (code === 'ENODATA') return emptyAnswer(false, DEFAULT_TTL_SECS);
      const reason = code === 'ESERVFAIL' ? 'SERVFAIL' : code;
      throw new DnsQueryError(absolute(name), type, reason, `${type} lookup for ${absolute(name)} failed: ${reason}`);
    }
  }

  private async fetch(name: string, type: RecordType): Promise<{ list: DnsRecord[]; ttl?: number }> {
    const r = this.resolver;
    switch (type) {
      case 'A':
      case 'AAAA': {
        const rows = type === 'A' ? await r.resolve4(name, { ttl: true }) : await r.resolve6(name, { ttl: true });
        const ttl = rows.length ? Math.min(...rows.map((x) => x.ttl)) : undefined;
        return { list: rows.map((x) => ({ type, address: x.address })), ...(ttl !== undefined ? { ttl } : {}) };
      }
      case 'MX':
        return { list: (await r.resolveMx(name)).map((x) => ({ type, preference: x.priority, exchange: x.exchange === '' ? '.' : absolute(x.exchange) })) };
      case 'TXT':
        return { list: (await r.resolveTxt(name)).map((strings) => ({ type, strings })) };
      case 'PTR':
        return { list: (await r.resolvePtr(name)).map((n) => ({ type, name: absolute(n) })) };
      case 'CNAME':
        return { list: (await r.resolveCname(name)).map((n) => ({ type, name: absolute(n) })) };
      case 'NS':
        return { list: (await r.resolveNs(name)).map((n) => ({ type, name: absolute(n) })) };
      case 'SOA': {
        const s = await r.resolveSoa(name);
        return { list: [{ type, text: `${s.nsname} ${s.hostmaster} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minttl}` }] };
      }
      case 'TLSA':
        throw new DnsQueryError(absolute(name), type, 'NOTIMP', `TLSA lookup for ${absolute(name)} failed: node:dns cannot query TLSA records`);
    }
  }
}
