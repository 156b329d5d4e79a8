/**
 * Recording implementations of the listener ports: a RecordSink that builds
 * every record with the real builder (so tests see the JSON KumoMTA would
 * log) and a MessageIntake that keeps what was saved and inserted.
 */
import { RecordBuilder } from '../../src/records/builder.ts';
import { CompiledCapture } from '../../src/records/capture.ts';
import type { LogRecord } from '../../src/records/log-record.ts';
import type { RecordEvent, RecordSink } from '../../src/records/types.ts';
import type { Message } from '../../src/message/message.ts';
import type { MessageIntake } from '../../src/server/ports.ts';
import type { Clock } from '../../src/util/clock.ts';
import { SystemClock } from '../../src/util/clock.ts';

export const TEST_NODE_ID = '0f7c4a2e-5b1d-4c3e-9a8f-6d2b1e0c9a77';

export class RecordingSink implements RecordSink {
  readonly events: RecordEvent[] = [];
  readonly records: LogRecord[] = [];
  readonly lines: string[] = [];
  private readonly builder: RecordBuilder;
  private readonly capture = new CompiledCapture({ meta: ['*'], headers: ['Subject', 'X-*'] });

  constructor(clock: Clock = new SystemClock()) {
    this.builder = new RecordBuilder({ clock, nodeId: TEST_NODE_ID });
  }

  async log(event: RecordEvent): Promise<void> {
    this.events.push(event);
    const built = this.builder.build(event, this.capture);
    this.records.push(built.record);
    this.lines.push(built.text);
  }

  ofType(type: string): LogRecord[] {
    return this.records.filter((r) => r.type === type);
  }
}

export class RecordingIntake implements MessageIntake {
  readonly saved: { msg: Message; deferredSpool: boolean }[] = [];
  readonly inserted: Message[] = [];
  /** Recipients whose insert fails (to test the reception Bounce). */
  failInsertFor = new Set<string>();
  /** Called between steps, e.g. to check the Reception was logged before insert. */
  onInsert: ((msg: Message) => void) | null = null;

  async save(msg: Message, opts: { deferredSpool: boolean }): Promise<void> {
    this.saved.push({ msg, deferredSpool: opts.deferredSpool });
  }

  async insert(msg: Message): Promise<void> {
    this.onInsert?.(msg);
    if (this.failInsertFor.has(msg.recipients[0] ?? '')) throw new Error('queue is full');
    this.inserted.push(msg);
  }
}
