/**
 * The composition root: one policy, its Lua state and every subsystem it can
 * reach, started in one of KumoMTA's three modes (serve, --script, --validate).
 */
import type { KumoContext } from '../kumo/context.ts';
import { createKumoContext, loadPolicyFile, type PolicyOptions } from '../policy/create.ts';
import { pushText } from '../lua/strings.ts';
import { wireServices, type Services } from './services.ts';

export type KumodMode = 'serve' | 'script' | 'validate';

export interface KumodOptions extends Omit<PolicyOptions, 'mode'> {
  policyFile: string;
  runMode: KumodMode;
}

export class Kumod {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly ctx: KumoContext,
    readonly services: Services,
    readonly mode: KumodMode,
  ) {}

  /**
   * Loads the policy and runs the lifecycle events for the mode: serve fires
   * pre_init + init and starts the engine; validate also fires
   * validate_config but starts nothing; script fires nothing (call runMain).
   */
  static async start(options: KumodOptions): Promise<Kumod> {
    const ctx = createKumoContext({
      ...options,
      mode: { validating: options.runMode === 'validate', script: options.runMode === 'script' },
    });
    const services = wireServices(ctx, options);
    const kumod = new Kumod(ctx, services, options.runMode);
    await loadPolicyFile(ctx, options.policyFile);
    if (options.runMode === 'script') return kumod;
    await ctx.events.fire('pre_init');
    await ctx.events.fire('init');
    if (options.runMode === 'validate') {
      await ctx.events.fire('validate_config');
      return kumod;
    }
    await services.start();
    return kumod;
  }

  /** `--script`: fires `main` with the script arguments. */
  async runMain(args: readonly string[]): Promise<void> {
    await this.ctx.events.fire('main', (co) => {
      for (const a of args) pushText(co, a);
      return args.length;
    });
  }

  /** Graceful shutdown (engine.md §11); safe to call more than once. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      await this.services.stop(async () => {
        await this.ctx.events.fire('shutdown_logging').catch(() => undefined);
      });
      this.ctx.runtime.close();
    })();
    return this.stopping;
  }
}
