/**
 * Where kumo.http clients get their connection pool. Production uses one
 * undici Agent per client (keep-alive, its own idle timeout and TLS policy).
 * Tests and the policy harness can swap the factory, e.g. for an undici
 * MockAgent, so mocked requests still run through the same client code.
 */
import type { Dispatcher } from 'undici';
import { lazyRequire } from '../../util/lazy-require.ts';
import { ServiceSlot } from '../../kumo/context.ts';

const undici = lazyRequire<typeof import('undici')>('undici');

/** Pool settings taken from `kumo.http.build_client{...}`. */
export interface DispatcherOptions {
  /** How long an idle keep-alive socket stays pooled (pool_idle_timeout). */
  poolIdleTimeoutMs: number;
  /** accept_invalid_certs: skip certificate and hostname checks. */
  acceptInvalidCerts: boolean;
}

export interface DispatcherLease {
  dispatcher: Dispatcher;
  /** True when the client must close the dispatcher when it is done with it. */
  owned: boolean;
}

export type DispatcherFactory = (options: DispatcherOptions) => DispatcherLease;

/** The default: a private keep-alive Agent per client, closed with the client. */
export const agentDispatcherFactory: DispatcherFactory = (options) => ({
  owned: true,
  dispatcher: new (undici().Agent)({
    keepAliveTimeout: options.poolIdleTimeoutMs,
    // A server's Keep-Alive hint may shorten the idle time, never lengthen it past ours.
    keepAliveMaxTimeout: Math.max(options.poolIdleTimeoutMs, 1),
    // The client enforces its own total deadline; undici's per-phase limits stay out of the way.
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: options.acceptInvalidCerts ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
  }),
});

let currentFactory: DispatcherFactory = agentDispatcherFactory;

/**
 * Replaces the process-wide factory used by clients built afterwards; returns
 * the previous one so a test can restore it. A dispatcher from a custom
 * factory is closed by the client only when the lease says `owned`.
 */
export function setHttpDispatcherFactory(factory: DispatcherFactory | undefined): DispatcherFactory {
  const previous = currentFactory;
  currentFactory = factory ?? agentDispatcherFactory;
  return previous;
}

export function httpDispatcherFactory(): DispatcherFactory {
  return currentFactory;
}

/** Per-KumoContext override; wins over the process-wide factory. */
export const HTTP_DISPATCHER_FACTORY = new ServiceSlot<DispatcherFactory>('the kumo.http dispatcher factory');

/** A factory that hands every client the same shared dispatcher (not closed by clients). */
export function sharedDispatcher(dispatcher: Dispatcher): DispatcherFactory {
  return () => ({ dispatcher, owned: false });
}
