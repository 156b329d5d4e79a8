import { LoggingConfigError, checkTable, optBoolean, optString } from './options.ts';

/** Every record type name a `per_record` table may use, plus the `Any` wildcard (lua-api.md §4.3). */
export const PER_RECORD_KEYS = [
  'Reception', 'Delivery', 'Bounce', 'TransientFailure', 'Expiration', 'AdminBounce', 'OOB', 'Feedback',
  'Rejection', 'AdminRebind', 'DeferredInjectionRebind', 'Delayed', 'XferOut', 'XferIn', 'Any',
] as const;

const PARAM_KEYS = ['enable', 'template', 'suffix', 'log_dir', 'segment_header'] as const;

export interface LogRecordParams {
  enable: boolean;
  template: string | null;
  suffix: string | null;
  logDir: string | null;
  segmentHeader: string;
}

export interface FileSettings {
  logDir: string | null;
  suffix: string | null;
  segmentHeader: string;
}

const DEFAULT_FILE_SETTINGS: FileSettings = { logDir: null, suffix: null, segmentHeader: '' };

/** A parsed `per_record` table and its resolution rules. */
export class PerRecord {
  private constructor(private readonly entries: ReadonlyMap<string, LogRecordParams>) {}

  static parse(where: string, raw: unknown): PerRecord {
    const entries = new Map<string, LogRecordParams>();
    if (raw === undefined || raw === null) return new PerRecord(entries);
    const table = checkTable(`${where}: per_record`, raw, PER_RECORD_KEYS);
    for (const [type, value] of Object.entries(table)) {
      const at = `${where}: per_record.${type}`;
      const params = checkTable(at, value, PARAM_KEYS);
      entries.set(type, {
        enable: optBoolean(at, params, 'enable') ?? true,
        template: optString(at, params, 'template') ?? null,
        suffix: optString(at, params, 'suffix') ?? null,
        logDir: optString(at, params, 'log_dir') ?? null,
        segmentHeader: optString(at, params, 'segment_header') ?? '',
      });
    }
    return new PerRecord(entries);
  }

  /** The entry for `type`, or null. */
  entry(type: string): LogRecordParams | null {
    return this.entries.get(type) ?? null;
  }

  /** Exact type first, then `Any`, else enabled. */
  isEnabled(type: string): boolean {
    return (this.entries.get(type) ?? this.entries.get('Any'))?.enable ?? true;
  }

  /**
   * Which template entry renders `type`: its own entry decides if present (no
   * template there means plain JSON, no fall back to `Any`), else `Any`'s.
   */
  templateKey(type: string): string | null {
    const own = this.entries.get(type);
    if (own) return own.template !== null ? type : null;
    const any = this.entries.get('Any');
    return any && any.template !== null ? 'Any' : null;
  }

  fileSettings(type: string): FileSettings {
    const e = this.entries.get(type) ?? this.entries.get('Any');
    return e ? { logDir: e.logDir, suffix: e.suffix, segmentHeader: e.segmentHeader } : DEFAULT_FILE_SETTINGS;
  }

  /** Entries that carry a template, as [key, source]. */
  templates(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, e] of this.entries) if (e.template !== null) out.push([k, e.template]);
    return out;
  }

  /** Every per-record log_dir, for startup housekeeping. */
  logDirs(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.logDir !== null) out.push(e.logDir);
    return out;
  }
}

export { LoggingConfigError };
