import { hostname } from 'node:os';
import { NodeMxResolver } from './node-resolver.ts';
import type { SmtpServices } from './ports.ts';

/** The services SMTP delivery runs with when the composition root supplies none. */
export function smtpServices(given: Partial<SmtpServices> = {}): SmtpServices {
  return {
    resolver: given.resolver ?? new NodeMxResolver(),
    egressSource: given.egressSource ?? ((name) => ({ name })),
    classify: given.classify ?? (() => 'Uncategorized'),
    rewriteDeliveryStatus: given.rewriteDeliveryStatus ?? null,
    hostname: given.hostname ?? hostname(),
  };
}
