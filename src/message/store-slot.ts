/**
 * What the Message binding needs from the engine, declared here and provided
 * by the composition root (`ctx.provide(MESSAGE_SAVER, ...)`).
 */
import { ServiceSlot } from '../kumo/context.ts';
import type { Message } from './message.ts';

/** Writes a message's dirty meta/data to the spool (`msg:save()`, `msg:shrink()`). */
export const MESSAGE_SAVER = new ServiceSlot<(msg: Message) => Promise<void>>('the spool');

export interface InjectOptions {
  /** `kumo.inject_message(msg, true)`: queue without writing to the spool first. */
  deferredSpool: boolean;
}

/** Queues a policy-made message (`kumo.inject_message`); spools it unless deferredSpool. */
export const MESSAGE_INJECTOR = new ServiceSlot<(msg: Message, opts: InjectOptions) => Promise<void>>('the queue manager');

// msg:set_force_sync has no field on the shared Message model; the flag lives
// beside it until the spool wants it (read it with isForceSync).
const forceSync = new WeakMap<Message, boolean>();

export function setForceSync(msg: Message, on: boolean): void {
  if (on) forceSync.set(msg, true);
  else forceSync.delete(msg);
}

/** True after `msg:set_force_sync(true)`: the spool should write this message durably. */
export function isForceSync(msg: Message): boolean {
  return forceSync.get(msg) === true;
}
