/**
 * The compact rendering of an MX host list that lets domains sharing MX
 * infrastructure share a ready queue (smtp-delivery §1.5):
 * `mx1.a.test.` + `mx2.a.test.` ⇒ `(mx1|mx2).a.test`.
 */

import { splitPort } from './names.ts';

/** Labels TLD first; a `:port` (the §1.2 port suffix rule) stays glued to the TLD label. */
function reversedLabels(host: string): string[] {
  const split = splitPort(host.toLowerCase());
  let name = split.host;
  const port = split.port === null ? '' : `:${split.port}`;
  if (name.endsWith('.')) name = name.slice(0, -1);
  const labels = name === '' ? [] : name.split('.');
  if (labels.length > 0 && port) labels[labels.length - 1] += port;
  return labels.reverse();
}

export function siteName(hosts: readonly string[]): string {
  const rows = hosts.map(reversedLabels);
  const width = Math.max(0, ...rows.map((r) => r.length));
  const parts: string[] = [];
  for (let i = 0; i < width; i++) {
    const seen: string[] = [];
    let optional = false;
    for (const row of rows) {
      const label = row[i];
      if (label === undefined) optional = true;
      else if (!seen.includes(label)) seen.push(label);
    }
    const body = seen.length === 1 ? seen[0]! : `(${seen.join('|')})`;
    parts.push(body + (optional ? '?' : ''));
  }
  return parts.reverse().join('.');
}
