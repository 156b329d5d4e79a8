/**
 * Failures an operator must see without reading metrics or local logs: log
 * hook deliveries that fail, handlers stopped by the CPU guard, spool writes
 * that fail. One concise stderr line each, rate-limited per kind of failure so
 * an outage prints a line a minute, not one per record.
 */
import type { Clock } from '../util/clock.ts';
import { SystemClock } from '../util/clock.ts';
import type { RecordEvent, RecordSink } from '../records/types.ts';

export const REPORT_INTERVAL_MS = 60_000;
const MAX_DETAIL = 200;

/** At most one line per key per interval; the next one says how many were held back. */
export class RateLimitedLines {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly clock: Clock = new SystemClock(),
    private readonly intervalMs = REPORT_INTERVAL_MS,
  ) {}

  report(key: string, line: string): void {
    const now = this.clock.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const held = seen && seen.suppressed > 0 ? ` (${seen.suppressed} more like this in the last ${Math.round((now - seen.at) / 1000)}s)` : '';
    this.last.set(key, { at: now, suppressed: 0 });
    this.write(`${new Date(now).toISOString()} kumo-lua: ${line}${held}`);
  }
}

function cut(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}...` : oneLine;
}

const HOOK_QUEUE_SUFFIX = '.log_hook';
const OUTCOMES: Partial<Record<RecordEvent['type'], string>> = {
  TransientFailure: 'failed, will retry',
  Bounce: 'failed permanently, the record is dropped',
  Expiration: 'expired, the record is dropped',
};

/** A record tap: failures of log-hook messages (queues named `<hook>.log_hook`). */
export class HookFailureLines implements RecordSink {
  constructor(private readonly lines: RateLimitedLines) {}

  async log(event: RecordEvent): Promise<void> {
    const outcome = OUTCOMES[event.type];
    if (!outcome || !event.message) return;
    let queue: string;
    try {
      queue = event.queue ?? event.message.queueName();
    } catch {
      return;
    }
    if (!queue.endsWith(HOOK_QUEUE_SUFFIX)) return;
    const hook = queue.slice(0, -HOOK_QUEUE_SUFFIX.length);
    const { code, content } = event.response;
    this.lines.report(`hook:${hook}:${event.type}`, `log hook '${hook}' delivery ${outcome}: ${code} ${cut(content)}`);
  }
}

/** The three reporters wired into a daemon's options. */
export function failureReporters(write: (line: string) => void, clock?: Clock) {
  const lines = new RateLimitedLines(write, clock);
  return {
    hookTap: new HookFailureLines(lines),
    onCpuStop: (message: string) => lines.report(`cpu:${message}`, message),
    onSpoolWriteError: (err: Error) => lines.report('spool', `${err.message} (messages are not accepted until writes succeed)`),
  };
}
