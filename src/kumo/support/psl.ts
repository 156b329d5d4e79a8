/**
 * Public Suffix List look-ups for kumo.string.psl_domain / psl_suffix
 * (clients.md §7). The list comes bundled with tldts. Like the Rust `psl`
 * crate KumoMTA uses, the private section counts (`foo.blogspot.com` is
 * registrable) and an unlisted TLD falls under the default `*` rule, so
 * `a.b.zzz` has the domain `b.zzz`.
 */
import { lazyRequire } from '../../util/lazy-require.ts';

const tldts = lazyRequire<typeof import('tldts')>('tldts');

const OPTIONS = { allowPrivateDomains: true, extractHostname: false, validateHostname: false } as const;

/** Drops one trailing '.', lowercases ASCII; null when a label is empty. */
function normalize(name: string): string | null {
  const s = (name.endsWith('.') ? name.slice(0, -1) : name).replace(/[A-Z]+/g, (m) => m.toLowerCase());
  if (s === '' || s.split('.').some((label) => label === '')) return null;
  return s;
}

/** The registrable domain (eTLD+1), or null for a bare suffix. */
export function pslDomain(name: string): string | null {
  const s = normalize(name);
  return s === null ? null : tldts().getDomain(s, OPTIONS);
}

/** The public suffix, or null. */
export function pslSuffix(name: string): string | null {
  const s = normalize(name);
  return s === null ? null : tldts().getPublicSuffix(s, OPTIONS);
}
