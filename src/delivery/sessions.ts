import type { EngineContext } from '../queue/engine-context.ts';
import type { ReadyQueue } from '../queue/ready-queue.ts';
import { Dispatcher } from './dispatcher.ts';
import type { SessionBase } from './session-base.ts';
import { SmtpSession } from './smtp/session.ts';

/** The protocol switch: which kind of session drains a ready queue. */
export function createSession(rq: ReadyQueue, engine: EngineContext): SessionBase {
  return rq.protocol.kind === 'smtp' ? new SmtpSession(rq, engine) : new Dispatcher(rq, engine);
}
