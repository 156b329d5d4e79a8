/** A kumo-lua state with `the_msg()` returning one TypeScript-owned Message. */
import { newLua, type TestContext } from '../helpers/lua.ts';
import { lua } from '../../src/lua/fengari.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { Message, type MessageInit } from '../../src/message/message.ts';
import { pushMessage } from '../../src/message/lua-binding.ts';

export interface MessageFixture extends TestContext {
  msg: Message;
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

export function withMessage(init: Partial<MessageInit> = {}, t: TestContext = newLua()): MessageFixture {
  const msg = new Message({
    sender: 'sender@example.com',
    recipients: ['rcpt@example.org'],
    data: bytes('Subject: hello\r\nX-Campaign-Id: c1\r\n\r\nbody\r\n'),
    ...init,
  });
  const L = t.ctx.runtime.L;
  lua.lua_pushcfunction(L, (Ls: never) => (pushMessage(Ls, msg), 1));
  lua.lua_setglobal(L, keyBytes('the_msg'));
  return { ...t, msg };
}
