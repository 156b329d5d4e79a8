import type { Message } from '../message/message.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { DueHeap, type HeapItem } from './due-heap.ts';

/**
 * A message parked until its due time: a small index entry; the Message
 * itself is dropped (`msg = null`) when its shrink policy releases meta and
 * data, and is reloaded from the spool on promotion.
 */
export class ParkedEntry<Q = unknown> implements HeapItem {
  heapIndex = -1;
  constructor(
    public due: number,
    public seq: number,
    readonly id: string,
    public attempts: number,
    readonly queue: Q,
    public msg: Message | null,
    /** Came from spool enumeration: promoted with context [Enumerated]. */
    readonly enumerated: boolean,
  ) {}
}

/**
 * The process-wide time store: one heap, ONE clock timer armed for the
 * earliest due entry. Due entries are handed to `onDue` in batches; the next
 * batch waits until the previous one has been processed.
 */
export class DueScheduler<Q> {
  private heap = new DueHeap<ParkedEntry<Q>>();
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private running = false;
  private stopped = false;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (batch: ParkedEntry<Q>[]) => Promise<void>,
    private readonly batchSize = 256,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  /** True while due entries are being promoted. */
  get busy(): boolean {
    return this.running;
  }

  nextSeq(): number {
    return this.seq++;
  }

  add(entry: ParkedEntry<Q>): void {
    this.heap.push(entry);
    if (!this.running && entry.due < this.timerAt) this.arm();
  }

  remove(entry: ParkedEntry<Q>): boolean {
    return this.heap.remove(entry);
  }

  /** Takes every entry out (shutdown). */
  drain(): ParkedEntry<Q>[] {
    const out: ParkedEntry<Q>[] = [];
    for (let e = this.heap.pop(); e; e = this.heap.pop()) out.push(e);
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    const top = this.heap.peek();
    if (!top) return;
    this.timerAt = top.due;
    const delay = top.due - this.clock.now();
    if (delay <= 0) {
      // Already due (restart, ready-queue-full with 0 s): no clock wait involved.
      const immediate = setImmediate(() => {
        this.timer = null;
        this.timerAt = Infinity;
        void this.pump();
      });
      this.timer = { cancel: () => clearImmediate(immediate) };
      return;
    }
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (;;) {
        const now = this.clock.now();
        const batch: ParkedEntry<Q>[] = [];
        while (batch.length < this.batchSize) {
          const top = this.heap.peek();
          if (!top || top.due > now) break;
          batch.push(this.heap.pop()!);
        }
        if (batch.length === 0) break;
        try {
          await this.onDue(batch);
        } catch {
          // onDue reports its own errors; the pump must keep going
        }
        if (this.stopped) return;
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }
}
