/**
 * `kumo.define_spool` records what the policy asked for; the spool opens
 * after `init`, when the engine starts. KumoMTA keeps "data" and "meta" in
 * two stores; kumo-lua keeps both in one SQLite database, placed in the
 * "meta" spool's directory (or the "data" one when only that is defined).
 */
import { ServiceSlot } from '../kumo/context.ts';
import type { SpoolParams } from './spool-params.ts';

export class SpoolDefinitions {
  private readonly byName = new Map<string, SpoolParams>();

  define(params: SpoolParams): void {
    if (this.byName.has(params.name)) throw new Error(`kumo.define_spool: a spool named '${params.name}' is already defined`);
    this.byName.set(params.name, params);
  }

  /** The parameters the single SQLite spool is opened with. */
  primary(): SpoolParams {
    const chosen = this.byName.get('meta') ?? this.byName.get('data') ?? [...this.byName.values()][0];
    if (!chosen) {
      throw new Error("No spools have been defined: call kumo.define_spool{ name = 'data', path = ... } and { name = 'meta', ... } from the init event");
    }
    return chosen;
  }

  get count(): number {
    return this.byName.size;
  }
}

export const SPOOL_DEFINITIONS = new ServiceSlot<SpoolDefinitions>('spool definitions');
