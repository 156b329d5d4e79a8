/**
 * A FIFO with a fixed capacity between record producers and a logger's
 * worker. A producer that finds it full waits (back-pressure reaches the
 * code that is logging, as in KumoMTA), so memory stays bounded by
 * capacity + number of waiting producers.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  private readonly blocked: Array<{ item: T; resolve: () => void }> = [];
  private takers: Array<() => void> = [];
  private closed = false;
  /** How many pushes found the queue full. */
  fullCount = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`queue capacity must be at least 1, got ${capacity}`);
  }

  /** Items waiting in the queue (not counting blocked producers). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Producers currently waiting for room. */
  get blockedProducers(): number {
    return this.blocked.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds an item, waiting while the queue is full. Returns true if it had to wait. */
  push(item: T): Promise<boolean> | boolean {
    if (this.closed) throw new Error('queue is closed');
    if (this.size < this.capacity && this.blocked.length === 0) {
      this.items.push(item);
      this.wakeTaker();
      return false;
    }
    this.fullCount++;
    return new Promise<boolean>((resolve) => {
      this.blocked.push({ item, resolve: () => resolve(true) });
    });
  }

  /**
   * Removes up to `max` items, waiting while the queue is empty. Resolves to
   * an empty array once the queue is closed and drained.
   */
  async take(max: number): Promise<T[]> {
    while (this.size === 0) {
      if (this.closed) return [];
      await new Promise<void>((resolve) => this.takers.push(resolve));
    }
    const end = Math.min(this.items.length, this.head + max);
    const batch = this.items.slice(this.head, end);
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.admitBlocked();
    return batch;
  }

  /** No more pushes; takers drain what is left. */
  close(): void {
    this.closed = true;
    for (const w of this.takers.splice(0)) w();
  }

  private admitBlocked(): void {
    while (this.blocked.length > 0 && this.size < this.capacity) {
      const b = this.blocked.shift()!;
      this.items.push(b.item);
      b.resolve();
    }
    if (this.size > 0) this.wakeTaker();
  }

  private wakeTaker(): void {
    const w = this.takers.shift();
    if (w) w();
  }
}

/** A counting semaphore: at most `limit` holders at once. */
export class Permits {
  private inUse = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get held(): number {
    return this.inUse;
  }

  /** Takes a permit; returns true if it had to wait for one. */
  acquire(): Promise<boolean> | boolean {
    if (this.inUse < this.limit) {
      this.inUse++;
      return false;
    }
    return new Promise<boolean>((resolve) => this.waiters.push(() => resolve(true)));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(); // the permit passes straight to the waiter
    else this.inUse--;
  }
}
