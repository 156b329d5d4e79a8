/**
 * Message methods of lua-api-more.md §5: DKIM signing and verification,
 * Authentication-Results, ARC. They all work on the message data as it is at
 * the call, so a policy runs them after its other edits.
 */
import type { LuaCFunction, LuaState } from '../lua/fengari.ts';
import type { MethodMaker } from './lua-binding.ts';
import { DkimSignerClass } from '../kumo/dkim.ts';
import { dkimSignatureHeader } from '../auth/dkim-sign.ts';
import { insertAtStart } from './headers.ts';
import { encodeText } from '../lua/strings.ts';
import { messageContext } from './lua-context.ts';

function nowMs(L: LuaState): number {
  return messageContext(L)?.clock.now() ?? Date.now();
}

export function authMethods(method: MethodMaker): Record<string, LuaCFunction> {
  return {
    dkim_sign: method('dkim_sign', (L, msg) => {
      const signer = DkimSignerClass.check(L, 2);
      const now = nowMs(L);
      return () => {
        const header = dkimSignatureHeader(msg.getData(), signer, now);
        msg.setData(insertAtStart(msg.getData(), encodeText(header)));
      };
    }),
  };
}
