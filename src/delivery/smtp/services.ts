import { hostname } from 'node:os';
import { DnsMxResolver } from './dns-resolver.ts';
import type { SmtpServices } from './ports.ts';
import { ServiceSlot } from '../../kumo/context.ts';

/** Overrides of SMTP delivery services a host (the test harness) provides before the engine starts. */
export const SMTP_SERVICES = new ServiceSlot<Partial<SmtpServices>>('the SMTP delivery services');

/** The services SMTP delivery runs with when the composition root supplies none. */
export function smtpServices(given: Partial<SmtpServices> = {}): SmtpServices {
  return {
    resolver: given.resolver ?? new DnsMxResolver(),
    classify: given.classify ?? (() => 'Uncategorized'),
    rewriteDeliveryStatus: given.rewriteDeliveryStatus ?? null,
    hostname: given.hostname ?? hostname(),
    redirect: given.redirect ?? null,
  };
}
