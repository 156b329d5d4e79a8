/**
 * The compact rendering of an MX host list that lets domains sharing MX
 * infrastructure share a ready queue (smtp-delivery §1.5):
 * `mx1.a.test.` + `mx2.a.test.` ⇒ `(mx1|mx2).a.test`.
 */

/** Labels TLD first; a `:port` stays glued to the TLD label. */
function reversedLabels(host: string): string[] {
  let name = host.toLowerCase();
  let port = '';
  const colon = name.lastIndexOf(':');
  if (colon >= 0 && !name.slice(0, colon).includes(':')) {
    port = name.slice(colon);
    name = name.slice(0, colon);
  }
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
