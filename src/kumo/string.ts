/** kumo.string — placeholder until its owner fills it in. */
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

export function register(_kumo: ModuleTable, _ctx: KumoContext): void {}
