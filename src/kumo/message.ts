/**
 * kumo.make_message and kumo.inject_message (lua-api.md §13.10): messages a
 * policy builds itself. Registering also binds the KumoContext for Message
 * methods (src/message/lua-context.ts).
 */
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argBoolean, argBytes, argString } from '../lua/args.ts';
import { Message } from '../message/message.ts';
import { parseEnvelopeAddress } from '../message/address.ts';
import { checkMessage, pushMessage } from '../message/lua-binding.ts';
import { bindMessageContext } from '../message/lua-context.ts';
import { MESSAGE_INJECTOR } from '../message/store-slot.ts';

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  bindMessageContext(ctx.runtime.L, ctx);

  kumo.fn('make_message', (L) => {
    const sender = parseEnvelopeAddress(argString(L, 1)).email;
    const recipient = parseEnvelopeAddress(argString(L, 2)).email;
    const body = new Uint8Array(argBytes(L, 3));
    pushMessage(L, new Message({ sender, recipients: [recipient], data: body, meta: {}, createdMs: ctx.clock.now() }));
    return 1;
  });

  kumo.fn(
    'inject_message',
    asyncFunction('kumo.inject_message', (L) => {
      const msg = checkMessage(L, 1);
      const deferredSpool = argBoolean(L, 2);
      // Fail on a bad queue name or a missing engine before anything is queued.
      msg.queueName();
      const inject = ctx.require(MESSAGE_INJECTOR, 'kumo.inject_message');
      return inject(msg, { deferredSpool }).then(() => undefined);
    }),
  );
}
