/** Keeps every record a test environment logs, as the JSON KumoMTA would write. */
import { RecordBuilder } from '../records/builder.ts';
import { CompiledCapture } from '../records/capture.ts';
import type { RecordEvent, RecordSink } from '../records/types.ts';
import { fromJsonText, type JsonObject } from '../util/json.ts';

export class RecordRecorder implements RecordSink {
  readonly records: JsonObject[] = [];
  private readonly capture = new CompiledCapture({ meta: [], headers: [] });

  constructor(private readonly builder: RecordBuilder) {}

  async log(event: RecordEvent): Promise<void> {
    this.records.push(fromJsonText(this.builder.build(event, this.capture).text) as JsonObject);
  }

  ofType(type: string | undefined): JsonObject[] {
    return type === undefined ? this.records : this.records.filter((r) => r.type === type);
  }
}
