/**
 * msg:from_header(), msg:to_header(), msg:get_address_header(name)
 * (lua-api-more.md §7.2): the first header of that name as an AddressHeader
 * userdata; `list` gives Address userdata, groups flattened.
 */
import type { LuaCFunction, LuaState } from '../lua/fengari.ts';
import { lua } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { argString } from '../lua/args.ts';
import { decodeText, pushText } from '../lua/strings.ts';
import type { LuaReturn } from '../lua/host-function.ts';
import type { Message } from './message.ts';
import type { MethodMaker } from './lua-binding.ts';
import { headersNamed, parseHeaderBlock, rawHeaderValue } from './headers.ts';
import {
  AddressHeaderError,
  addressListJson,
  decodedLocal,
  emailOf,
  flatten,
  mailboxJson,
  parseAddressList,
  singleMailbox,
  type AddressEntry,
  type Mailbox,
} from './address-headers.ts';

interface AddressHeader {
  header: string;
  entries: AddressEntry[];
}

function pushOptText(L: LuaState, v: string | undefined): number {
  if (v === undefined) lua.lua_pushnil(L);
  else pushText(L, v);
  return 1;
}

function nonEmpty(v: string, what: string): string {
  if (v === '') throw new AddressHeaderError(`address has no ${what}`);
  return v;
}

/** The fields an Address and a single-mailbox AddressHeader share. */
function mailboxFields<T>(mailboxOf: (self: T) => Mailbox): Record<string, (L: LuaState, self: T) => number> {
  return {
    user: (L, self) => (pushText(L, nonEmpty(decodedLocal(mailboxOf(self)), 'user')), 1),
    domain: (L, self) => (pushText(L, nonEmpty(mailboxOf(self).domain, 'domain')), 1),
    email: (L, self) => (pushText(L, emailOf(mailboxOf(self))), 1),
    name: (L, self) => pushOptText(L, mailboxOf(self).name),
  };
}

export const AddressClass: LuaClass<Mailbox> = new LuaClass<Mailbox>({
  name: 'Address',
  fields: mailboxFields((m) => m),
  meta: { __tostring: (L) => (pushText(L, JSON.stringify(mailboxJson(AddressClass.check(L, 1)))), 1) },
});

function single(h: AddressHeader): Mailbox {
  try {
    return singleMailbox(h.entries);
  } catch (err) {
    throw new AddressHeaderError(`${h.header}: ${(err as Error).message}`);
  }
}

export const AddressHeaderClass: LuaClass<AddressHeader> = new LuaClass<AddressHeader>({
  name: 'AddressHeader',
  fields: {
    ...mailboxFields(single),
    list: (L, self) => {
      const all = flatten(self.entries);
      lua.lua_createtable(L, all.length, 0);
      all.forEach((m, i) => (AddressClass.push(L, m), lua.lua_rawseti(L, -2, i + 1)));
      return 1;
    },
  },
  meta: { __tostring: (L) => (pushText(L, JSON.stringify(addressListJson(AddressHeaderClass.check(L, 1).entries))), 1) },
});

/** The first `name` header parsed, or undefined when the message has none. */
export function addressHeader(data: Uint8Array, name: string): AddressHeader | undefined {
  const h = headersNamed(parseHeaderBlock(data), name)[0];
  if (!h) return undefined;
  return { header: h.name, entries: parseAddressList(decodeText(rawHeaderValue(data, h)), h.name) };
}

function pushHeader(h: AddressHeader | undefined): LuaReturn {
  return (L) => {
    if (h === undefined) lua.lua_pushnil(L);
    else AddressHeaderClass.push(L, h);
    return 1;
  };
}

export function addressMethods(method: MethodMaker): Record<string, LuaCFunction> {
  const named = (name: string) => method(`${name.toLowerCase()}_header`, (_L, msg: Message) => () => pushHeader(addressHeader(msg.getData(), name)));
  return {
    from_header: named('From'),
    to_header: named('To'),
    get_address_header: method('get_address_header', (L, msg) => {
      const name = argString(L, 2);
      return () => pushHeader(addressHeader(msg.getData(), name));
    }),
  };
}
