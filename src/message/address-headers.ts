/**
 * RFC 5322 address-list headers (From, To, Reply-To ...) for
 * msg:from_header / to_header / get_address_header (lua-api-more.md §7.2).
 * nodemailer's addressparser splits the list (groups included); this file
 * checks each mailbox really is `local@domain` — KumoMTA's parser rejects what
 * addressparser would let through — and decodes RFC 2047 display names.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { libmime } from './libmime.ts';

export interface Mailbox {
  /** Display name, decoded; undefined when there is none. */
  name?: string;
  /** Local part as written (quotes kept when it needs them). */
  local: string;
  domain: string;
}

export type AddressEntry = { kind: 'mailbox'; mailbox: Mailbox } | { kind: 'group'; name: string; members: Mailbox[] };

export class AddressHeaderError extends Error {}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;
const DOMAIN = /^([A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\-\u0080-\uffff]*[A-Za-z0-9\u0080-\uffff])?\.?)+$|^\[[^\[\]\\]*\]$/;

interface ParsedAddress {
  name?: string;
  address?: string;
  group?: ParsedAddress[];
}

function decodeName(raw: string | undefined): string | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return undefined;
  try {
    return libmime().decodeWords(text);
  } catch {
    return text;
  }
}

function mailbox(entry: ParsedAddress, header: string): Mailbox {
  const address = (entry.address ?? '').trim();
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : '';
  const domain = at > 0 ? address.slice(at + 1) : '';
  const quoted = /^"(?:[^"\\]|\\.)*"$/.test(local);
  if (!local || !domain || !(quoted || DOT_ATOM.test(local)) || !DOMAIN.test(domain)) {
    const shown = address || entry.name || '';
    throw new AddressHeaderError(`${header}: ${JSON.stringify(shown)} is not a valid address (local@domain)`);
  }
  const name = decodeName(entry.name);
  return name === undefined ? { local, domain } : { name, local, domain };
}

/** The entries of one header value (as written, unfolded); errors name the header. */
export function parseAddressList(value: string, header: string): AddressEntry[] {
  const parsed = addressparser(value.replace(/\r?\n(?=[ \t])/g, '')) as ParsedAddress[];
  return parsed.map((entry) =>
    entry.group ? { kind: 'group', name: decodeName(entry.name) ?? '', members: entry.group.map((m) => mailbox(m, header)) } : { kind: 'mailbox', mailbox: mailbox(entry, header) },
  );
}

/** The local part without quoting: what `user` reads. */
export function decodedLocal(m: Mailbox): string {
  return m.local.startsWith('"') ? m.local.slice(1, -1).replace(/\\(.)/g, '$1') : m.local;
}

/** `local@domain`, the local part quoted only when it needs it. */
export function emailOf(m: Mailbox): string {
  const user = decodedLocal(m);
  const local = DOT_ATOM.test(user) ? user : `"${user.replace(/[\\"]/g, '\\$&')}"`;
  return `${local}@${m.domain}`;
}

export function flatten(entries: readonly AddressEntry[]): Mailbox[] {
  return entries.flatMap((e) => (e.kind === 'mailbox' ? [e.mailbox] : e.members));
}

/** The single plain mailbox, or the error text KumoMTA gives for the others. */
export function singleMailbox(entries: readonly AddressEntry[]): Mailbox {
  if (entries.length === 0) throw new AddressHeaderError('no addresses');
  if (entries.length > 1) throw new AddressHeaderError('is not a simple single address');
  const only = entries[0]!;
  if (only.kind === 'group') throw new AddressHeaderError('is not a simple address');
  return only.mailbox;
}

export function mailboxJson(m: Mailbox): { name: string | null; address: string } {
  return { name: m.name ?? null, address: emailOf(m) };
}

export function addressListJson(entries: readonly AddressEntry[]): unknown[] {
  return entries.map((e) =>
    e.kind === 'mailbox' ? { Address: mailboxJson(e.mailbox) } : { Group: { name: e.name, entries: e.members.map(mailboxJson) } },
  );
}
