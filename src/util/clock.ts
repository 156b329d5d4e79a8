/**
 * One clock for everything that waits. Production uses SystemClock; the engine
 * tests and the policy test harness use VirtualClock so a week of retries runs
 * in milliseconds.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets pending promise chains and I/O callbacks run before time moves on. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. `advance` fires due timers in time
 * order and lets the work they start settle between firings.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Number of timers still waiting to fire. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Time of the next pending timer, or undefined. */
  nextTimerAt(): number | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) if (!t.cancelled && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    return best?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number, settleRounds = 5): Promise<void> {
    const target = this.current + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      for (let i = 0; i < settleRounds; i++) await settle();
      const next = this.nextTimerAt();
      if (next === undefined || next > target) break;
      const due = this.timers.filter((t) => !t.cancelled && t.at === next).sort((a, b) => a.seq - b.seq)[0]!;
      this.timers = this.timers.filter((t) => t !== due && !t.cancelled);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = Math.max(this.current, target);
    for (let i = 0; i < settleRounds; i++) await settle();
  }

  /** Fires timers until none is left within `maxMs` of virtual time. */
  async runAll(maxMs = 365 * 24 * 3600_000): Promise<void> {
    await this.advance(maxMs);
  }
}
