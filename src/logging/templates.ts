import type { Environment } from 'minijinja-js';
import { lazyRequire } from '../util/lazy-require.ts';

import type { LogRecord } from '../records/log-record.ts';
import { JsonFloat, type JsonValue } from '../util/json.ts';
import { LoggingConfigError } from './options.ts';
import type { PerRecord } from './per-record.ts';

const minijinja = lazyRequire<typeof import('minijinja-js')>('minijinja-js');

/**
 * The per_record templates of one logger, compiled with minijinja (the engine
 * KumoMTA uses) when the logger is configured (lua-api.md §8).
 */
export class RecordTemplates {
  /** Made only when some record type has a template (loading minijinja costs ~0.1 s at startup). */
  private env: Environment | null = null;
  private readonly names = new Set<string>();

  constructor(where: string, private readonly perRecord: PerRecord) {
    for (const [key, source] of perRecord.templates()) {
      if (this.env === null) {
        this.env = new (minijinja().Environment)();
        this.env.enablePyCompat();
      }
      try {
        this.env.addTemplate(key, source);
      } catch (err) {
        throw new LoggingConfigError(`${where}: per_record.${key}.template: ${(err as Error).message}`);
      }
      this.names.add(key);
    }
  }

  /** True when any record type renders through a template. */
  get any(): boolean {
    return this.names.size > 0;
  }

  /** The rendered text for this record, or null when it is written as plain JSON. Throws on render errors. */
  render(record: LogRecord): string | null {
    const key = this.perRecord.templateKey(record.type);
    if (key === null) return null;
    return this.env!.renderTemplate(key, templateContext(record));
  }
}

/** minijinja-js reads plain JS values; JsonFloat boxes become numbers. */
function plain(v: JsonValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = plain(v[k]!);
  return out;
}

/** Every top-level record field, plus the whole record as `log_record`. */
export function templateContext(record: LogRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...record, meta: plain(record.meta), headers: record.headers };
  if (record.feedback_report) fields.feedback_report = plain(record.feedback_report);
  return { ...fields, log_record: fields };
}
