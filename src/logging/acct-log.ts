/**
 * The authentication / authorisation accounting log that
 * `kumo.aaa.configure_acct_log` starts (lua-api-more.md §3.8): zstd JSON-lines
 * segments in `log_dir`, one line per event with `type = "Authentication"` or
 * `"Authorization"`, rolled by size and age like the local logs.
 */
import { mkdir } from 'node:fs/promises';
import type { Clock } from '../util/clock.ts';
import { instantFromMs } from '../records/time-format.ts';
import { ConfigError, StrictReader } from '../queue/config-reader.ts';
import { parseLimit, type FreeSpaceLimit } from '../spool/spool-params.ts';
import type { JsonObject, JsonValue } from '../util/json.ts';
import { SegmentFile } from './segment-file.ts';

export interface AcctLogParams {
  logDir: string;
  maxFileSize: number;
  backPressure: number;
  compressionLevel: number;
  maxSegmentDurationMs: number | null;
  minFreeSpace: FreeSpaceLimit;
  minFreeInodes: FreeSpaceLimit;
  logAuthzAllow: boolean;
  logAuthzDeny: boolean;
  logAuthnOk: boolean;
  logAuthnFail: boolean;
}

const KEYS = [
  'log_dir', 'max_file_size', 'back_pressure', 'compression_level', 'max_segment_duration', 'min_free_space', 'min_free_inodes',
  'log_authz_allow', 'log_authz_deny', 'log_authn_ok', 'log_authn_fail',
];

export function parseAcctLogParams(obj: JsonObject): AcctLogParams {
  const r = new StrictReader(obj, KEYS);
  const level = r.raw('compression_level');
  if (level !== undefined && (typeof level !== 'number' || !Number.isInteger(level))) {
    throw new ConfigError('compression_level', 'invalid type for `compression_level`: expected an integer');
  }
  return {
    logDir: r.requiredString('log_dir'),
    maxFileSize: r.integer('max_file_size') ?? 1_000_000_000,
    backPressure: r.integer('back_pressure') ?? 128_000,
    compressionLevel: (level as number | undefined) ?? 0,
    maxSegmentDurationMs: r.durationMs('max_segment_duration') ?? null,
    minFreeSpace: parseLimit(r, 'min_free_space'),
    minFreeInodes: parseLimit(r, 'min_free_inodes'),
    logAuthzAllow: r.bool('log_authz_allow') ?? true,
    logAuthzDeny: r.bool('log_authz_deny') ?? true,
    logAuthnOk: r.bool('log_authn_ok') ?? true,
    logAuthnFail: r.bool('log_authn_fail') ?? true,
  };
}

/** One accounting event; `ok` is authentication success or authorisation allowed. */
export interface AcctEvent {
  type: 'Authentication' | 'Authorization';
  ok: boolean;
  fields: JsonObject;
}

export class AcctLog {
  private segment: SegmentFile | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly params: AcctLogParams, private readonly clock: Clock) {}

  async start(): Promise<void> {
    await mkdir(this.params.logDir, { recursive: true });
  }

  private wanted(e: AcctEvent): boolean {
    const p = this.params;
    return e.type === 'Authentication' ? (e.ok ? p.logAuthnOk : p.logAuthnFail) : e.ok ? p.logAuthzAllow : p.logAuthzDeny;
  }

  /** Appends one event (if its kind is enabled); writes are serialised. */
  log(e: AcctEvent): Promise<void> {
    if (!this.wanted(e)) return Promise.resolve();
    const now = this.clock.now();
    const line = JSON.stringify({ type: e.type, timestamp: new Date(now).toISOString(), ...e.fields } satisfies Record<string, JsonValue>) + '\n';
    this.chain = this.chain.catch(() => undefined).then(async () => {
      const p = this.params;
      const s = this.segment;
      if (s && (s.bytes >= p.maxFileSize || (p.maxSegmentDurationMs !== null && now - s.openedAtMs >= p.maxSegmentDurationMs))) {
        await s.close();
        this.segment = null;
      }
      this.segment ??= await SegmentFile.create(p.logDir, instantFromMs(now), '', p.compressionLevel, now);
      this.segment.write(line);
      await this.segment.flush();
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.segment?.close();
    this.segment = null;
  }
}
