/**
 * The composition root: one policy, its Lua state and every subsystem it can
 * reach, started in one of KumoMTA's three modes (serve, --script, --validate).
 */
import type { KumoContext } from '../kumo/context.ts';
import { createKumoContext, loadPolicyFile } from '../policy/create.ts';
import { pushText } from '../lua/strings.ts';
import { wireServices, type ServiceOptions, type Services } from './services.ts';

export type KumodMode = 'serve' | 'script' | 'validate';

export interface KumodOptions extends Omit<ServiceOptions, 'mode'> {
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

  /** Creates the Lua state and subsystems without loading anything. */
  static create(options: Omit<KumodOptions, 'policyFile'> & { policyFile?: string }): Kumod {
    const ctx = createKumoContext({
      ...options,
      mode: { validating: options.runMode === 'validate', script: options.runMode === 'script' },
    });
    const services = wireServices(ctx, options);
    return new Kumod(ctx, services, options.runMode);
  }

  /**
   * Loads the policy and runs the lifecycle events for the mode: serve fires
   * pre_init + init and starts the engine; validate also fires
   * validate_config but starts nothing; script fires nothing (call runMain).
   */
  static async start(options: KumodOptions): Promise<Kumod> {
    const kumod = Kumod.create(options);
    try {
      await loadPolicyFile(kumod.ctx, options.policyFile);
      await kumod.initialize();
    } catch (e) {
      // A listener that init already started (an HTTP listener before an
      // ESMTP one whose port is taken) would keep the process alive after
      // the error was reported: close what was started.
      await kumod.shutdown().catch(() => undefined);
      throw e;
    }
    return kumod;
  }

  /** Runs pre_init and init (and validate_config), then starts delivery when serving. */
  async initialize(): Promise<void> {
    if (this.mode === 'script') return;
    await this.ctx.events.fire('pre_init');
    await this.ctx.events.fire('init');
    if (this.mode === 'validate') {
      await this.ctx.events.fire('validate_config');
      await this.services.checkWorkerStates();
      return;
    }
    await this.services.start();
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
