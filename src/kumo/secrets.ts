/** kumo.secrets.load(keysource) -> the secret's bytes as a Lua string (clients.md §5). */
import type { LuaState } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushBytes } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { readKeySource, resolveKeySource } from './support/key-source.ts';

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('secrets').fn(
    'load',
    asyncFunction('kumo.secrets.load', async (L) => {
      const source = readKeySource(L, 1);
      const bytes = await resolveKeySource(source, ctx);
      return (Lr: LuaState) => {
        pushBytes(Lr, bytes);
        return 1;
      };
    }),
  );
}
