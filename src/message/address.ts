/** An envelope address as KumoMTA parses it (lua-api.md §11.5). */
export interface EnvelopeAddress {
  /** Local part; "" for the null sender, "postmaster" for Postmaster. */
  user: string;
  /** Domain; "" for the null sender and Postmaster. */
  domain: string;
  /** user@domain, "" for the null sender, "Postmaster" for Postmaster. */
  email: string;
}

export class AddressParseError extends Error {}

/** Parses `user@domain`, `<user@domain>`, `<>`/`""` and `Postmaster`/`<Postmaster>`. */
export function parseEnvelopeAddress(text: string): EnvelopeAddress {
  let s = text.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  if (s === '') return { user: '', domain: '', email: '' };
  if (s.toLowerCase() === 'postmaster') return { user: 'postmaster', domain: '', email: 'Postmaster' };
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) throw new AddressParseError(`invalid address: ${JSON.stringify(text)}`);
  const user = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (/[\s<>]/.test(user) || /[\s<>@]/.test(domain)) throw new AddressParseError(`invalid address: ${JSON.stringify(text)}`);
  return { user, domain, email: `${user}@${domain}` };
}
