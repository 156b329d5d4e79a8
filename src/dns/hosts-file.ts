/**
 * /etc/hosts for the node:dns resolver: node's `resolve*` never reads it, but
 * Hickory does by default (`use_hosts_file`), and policies and tests route to
 * `localhost` (smtp-delivery §7.4).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { toFqdn } from './types.ts';

export type HostsTable = Map<string, { A: string[]; AAAA: string[] }>;

export function parseHostsFile(text: string): HostsTable {
  const table: HostsTable = new Map();
  for (const raw of text.split(/\r?\n/)) {
    const [address, ...names] = raw.replace(/#.*$/, '').trim().split(/\s+/);
    const family = address ? isIP(address.replace(/%.*$/, '')) : 0;
    if (!family) continue;
    for (const name of names) {
      const key = toFqdn(name);
      const entry = table.get(key) ?? { A: [], AAAA: [] };
      const list = family === 4 ? entry.A : entry.AAAA;
      if (!list.includes(address!)) list.push(address!);
      table.set(key, entry);
    }
  }
  // localhost answers even without a hosts file.
  if (!table.has('localhost.')) table.set('localhost.', { A: ['127.0.0.1'], AAAA: ['::1'] });
  return table;
}

export function loadHostsFile(path = '/etc/hosts'): HostsTable {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No hosts file: only the built-in localhost entry.
  }
  return parseHostsFile(text);
}
