/**
 * A bounded pool of background tasks: at most `limit` run at once, the rest
 * wait their turn in arrival order. Maildir deliveries run here so reception
 * returns once a message is queued (KumoMTA delivers Maildir from its own
 * dispatcher, not inside the inserting call), while the number of files open
 * at once stays bounded.
 */
export class BackgroundTasks {
  private running = 0;
  private readonly waiting: Array<() => Promise<void>> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Tasks running or waiting. */
  get pending(): number {
    return this.running + this.waiting.length;
  }

  add(task: () => Promise<void>): void {
    if (this.running < this.limit) this.start(task);
    else this.waiting.push(task);
  }

  /** Resolves once every task added so far (and any they add) has finished. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(task: () => Promise<void>): void {
    this.running++;
    void task()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running--;
        const next = this.waiting.shift();
        if (next) this.start(next);
        else if (this.running === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
  }
}
