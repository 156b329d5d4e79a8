/** `kumo.dns.load_resolv_conf(path)`: resolv.conf → the plain resolver config form. */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { JsonObject } from '../util/json.ts';

export function loadResolvConf(path = '/etc/resolv.conf'): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`load_resolv_conf: reading ${path}: ${(err as Error).message}`);
  }
  const nameServers: string[] = [];
  const search: string[] = [];
  let domain: string | undefined;
  const options: JsonObject = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) {
      const ip = rest[0].replace(/%.*$/, '');
      if (!isIP(ip)) throw new Error(`load_resolv_conf: ${path}: invalid nameserver ${JSON.stringify(rest[0])}`);
      nameServers.push(isIP(ip) === 6 ? `[${ip}]:53` : `${ip}:53`);
    } else if (key === 'domain' && rest[0]) domain = rest[0];
    else if (key === 'search') search.push(...rest);
    else if (key === 'options') {
      for (const opt of rest) {
        const [name, value] = opt.split(':');
        if ((name === 'ndots' || name === 'timeout' || name === 'attempts') && value && /^\d+$/.test(value)) options[name] = Number(value);
        else if (name === 'edns0') options.edns0 = true;
      }
    }
  }
  return { name_servers: nameServers, ...(domain ? { domain } : {}), search, options };
}
