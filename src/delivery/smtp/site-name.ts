/**
 * The site name: the ordered MX host list compressed into one string so
 * that domains sharing MX infrastructure share a ready queue
 * (smtp-delivery.md §1.5).
 */

function labelsTldFirst(host: string): string[] {
  let name = host.toLowerCase();
  let port = '';
  const colon = name.lastIndexOf(':');
  if (colon >= 0 && !name.slice(0, colon).includes(':') && /^\d+$/.test(name.slice(colon + 1))) {
    port = name.slice(colon);
    name = name.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  const labels = name === '' ? [] : name.split('.').reverse();
  if (labels.length > 0 && port) labels[0] += port;
  return labels;
}

export function siteName(hosts: readonly string[]): string {
  const rows = hosts.map(labelsTldFirst);
  const width = Math.max(0, ...rows.map((r) => r.length));
  const parts: string[] = [];
  for (let i = 0; i < width; i++) {
    const values: string[] = [];
    let missing = false;
    for (const row of rows) {
      const v = row[i];
      if (v === undefined) missing = true;
      else if (!values.includes(v)) values.push(v);
    }
    const joined = values.length === 1 ? values[0]! : `(${values.join('|')})`;
    parts.push(joined + (missing ? '?' : ''));
  }
  return parts.reverse().join('.');
}
