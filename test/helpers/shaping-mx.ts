/** A fixed MX table for the shaping tests (no DNS): domain => MX hosts. */
import { mxAnswer, SHAPING_MX_RESOLVER, type MxResolver } from '../../src/shaping/mx.ts';
import type { KumoContext } from '../../src/kumo/context.ts';

export function fixedMx(table: Record<string, string[] | 'fail'>): MxResolver {
  return async (domain) => {
    const hosts = table[domain];
    if (hosts === undefined || hosts === 'fail') throw new Error(`MX lookup for ${domain} failed: NXDOMAIN`);
    return mxAnswer(hosts.map((h, i) => ({ exchange: h, priority: i * 10 })), domain);
  };
}

export function provideMx(ctx: KumoContext, table: Record<string, string[] | 'fail'>): void {
  ctx.provide(SHAPING_MX_RESOLVER, fixedMx(table));
}
