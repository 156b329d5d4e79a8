/** EnvelopeAddress userdata (lua-api.md §11.5): read-only fields user, domain, email; tostring = email. */
import { LuaClass } from '../lua/userdata.ts';
import { pushText } from '../lua/strings.ts';
import type { LuaState } from '../lua/fengari.ts';
import type { EnvelopeAddress } from './address.ts';

export const EnvelopeAddressClass: LuaClass<EnvelopeAddress> = new LuaClass<EnvelopeAddress>({
  name: 'EnvelopeAddress',
  fields: {
    user: (L, a) => (pushText(L, a.user), 1),
    domain: (L, a) => (pushText(L, a.domain), 1),
    email: (L, a) => (pushText(L, a.email), 1),
  },
  meta: {
    __tostring: (L: LuaState) => (pushText(L, EnvelopeAddressClass.check(L, 1).email), 1),
  },
});

export function pushEnvelopeAddress(L: LuaState, addr: EnvelopeAddress): void {
  EnvelopeAddressClass.push(L, addr);
}
