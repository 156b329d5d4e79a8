/**
 * Creates the subsystems a policy can reach (spool, queues, logging,
 * listeners) and provides them to the kumo bindings through service slots.
 */
import type { KumoContext } from '../kumo/context.ts';
import type { PolicyOptions } from '../policy/create.ts';

export interface Services {
  /** After init: open spools, enumerate them, start delivery. */
  start(): Promise<void>;
  /** Stops intake, drains delivery within its bound, then runs `beforeLogClose` and closes logs. */
  stop(beforeLogClose: () => Promise<void>): Promise<void>;
}

export function wireServices(_ctx: KumoContext, _options: PolicyOptions): Services {
  return {
    start: async () => undefined,
    stop: async (beforeLogClose) => {
      await beforeLogClose();
    },
  };
}
