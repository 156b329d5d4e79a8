/**
 * What a `kumo` sub-module binding can reach. Sub-modules never import the
 * engine directly: each subsystem declares a ServiceSlot next to its code, the
 * composition root provides it, and a binding asks for it when called.
 */
import type { LuaRuntime } from '../lua/runtime.ts';
import type { Clock } from '../util/clock.ts';
import type { EventRegistry } from './events.ts';
import type { DiagnosticLog } from './diagnostics.ts';

export class ServiceSlot<T> {
  declare readonly _type: T;
  constructor(readonly name: string) {}
}

export class ServiceUnavailableError extends Error {}

export interface KumoModeFlags {
  /** `--validate`: configuration runs, nothing starts. */
  validating: boolean;
  /** `--script`: only `main` fires. */
  script: boolean;
}

export class KumoContext {
  private readonly services = new Map<ServiceSlot<unknown>, unknown>();
  /** Set by kumo.validation_failed(). */
  validationFailed = false;

  constructor(
    readonly runtime: LuaRuntime,
    readonly events: EventRegistry,
    readonly clock: Clock,
    readonly log: DiagnosticLog,
    readonly mode: KumoModeFlags,
    /** Hyphenated UUID of this node, written to every record's `nodeid`. */
    readonly nodeId: string,
  ) {}

  provide<T>(slot: ServiceSlot<T>, impl: T): void {
    this.services.set(slot as ServiceSlot<unknown>, impl);
  }

  optional<T>(slot: ServiceSlot<T>): T | undefined {
    return this.services.get(slot as ServiceSlot<unknown>) as T | undefined;
  }

  /** The service, or an error that says which function needs it and why it is missing. */
  require<T>(slot: ServiceSlot<T>, caller: string): T {
    const impl = this.services.get(slot as ServiceSlot<unknown>) as T | undefined;
    if (impl === undefined) {
      const why = this.mode.script ? ' in --script mode' : this.mode.validating ? ' while validating' : '';
      throw new ServiceUnavailableError(`${caller}: ${slot.name} is not available${why}`);
    }
    return impl;
  }
}
