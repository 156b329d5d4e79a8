import type { RecordEvent, RecordSink } from './types.ts';

/** Hands every record to several sinks (logging, test recorders, metrics taps), in order. */
export class FanOutSink implements RecordSink {
  private readonly sinks: RecordSink[];
  constructor(...sinks: RecordSink[]) {
    this.sinks = sinks;
  }
  add(sink: RecordSink): void {
    this.sinks.push(sink);
  }
  async log(event: RecordEvent): Promise<void> {
    for (const sink of this.sinks) await sink.log(event);
  }
}
