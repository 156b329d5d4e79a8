import Database from 'better-sqlite3';
import { mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Message, type MessageStore } from '../message/message.ts';
import type { JsonObject } from '../util/json.ts';
import { decodeJson, encodeJson } from './json-codec.ts';
import type { FreeSpaceLimit } from './spool-params.ts';

/** What the engine keeps in memory per spooled message at restart. */
export interface SpoolIndexEntry {
  id: string;
  queue: string;
  due: number | null;
  attempts: number;
  /** JSON of the message schedule (set_scheduling), if any. */
  schedule: string | null;
}

export interface SpoolOptions {
  /** Directory for the database file (created if missing). */
  path: string;
  /** fsync every commit (synchronous=FULL); otherwise a commit survives a process crash but not power loss. */
  flush?: boolean;
  minFreeSpace?: FreeSpaceLimit;
  minFreeInodes?: FreeSpaceLimit;
  /** Commit as soon as this many writes are queued (group-commit upper bound). */
  maxBatch?: number;
  /** Told about every failed commit (its writers are rejected too), so the daemon can say so on stderr. */
  onWriteError?: (err: SpoolError) => void;
  /** Fault-injection seam: runs inside each commit's transaction before its writes; a throw fails the commit. */
  beforeWrite?: () => void;
}

type Op =
  | { kind: 'envelope'; id: string; queue: string; sender: string; recipients: string; meta: string; schedule: string | null; due: number | null; attempts: number }
  | { kind: 'state'; id: string; due: number | null; attempts: number }
  | { kind: 'data'; id: string; body: Uint8Array }
  | { kind: 'remove'; id: string };

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
  onFailure?: () => void;
}

export class SpoolError extends Error {}

const EMPTY = new Uint8Array(0);

/**
 * The message spool on SQLite (WAL). Envelope+meta and data live in separate
 * tables, like KumoMTA's "meta" and "data" spools. Writes are queued and
 * committed together in one transaction per event-loop turn (group commit);
 * a write's promise resolves once its transaction committed, so a resolved
 * `save` means the message survives a crash.
 */
export class SqliteSpool implements MessageStore {
  readonly file: string;
  private db: Database.Database;
  private ops: Op[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private closed = false;
  private readonly maxBatch: number;
  private readonly onWriteError: ((err: SpoolError) => void) | undefined;
  private readonly beforeWrite: (() => void) | undefined;
  private pendingMeta = new Map<string, Op & { kind: 'envelope' }>();
  private pendingData = new Map<string, Op & { kind: 'data' }>();
  private stmts;
  /** The commit transaction, made once (better-sqlite3 wraps a function per `transaction` call). */
  private readonly commitOps: (ops: Op[]) => void;
  private readonly limits: { space: FreeSpaceLimit; inodes: FreeSpaceLimit };
  /** Transactions committed and writes applied: how well group commit batches. */
  readonly stats = { commits: 0, ops: 0 };

  constructor(opts: SpoolOptions) {
    mkdirSync(opts.path, { recursive: true });
    this.file = join(opts.path, 'kumo-lua-spool.sqlite');
    this.maxBatch = opts.maxBatch ?? 4096;
    this.onWriteError = opts.onWriteError;
    this.beforeWrite = opts.beforeWrite;
    this.limits = { space: opts.minFreeSpace ?? { percent: 10 }, inodes: opts.minFreeInodes ?? { percent: 10 } };
    this.db = new Database(this.file);
    // One process owns a spool (as KumoMTA's spool is locked by its process):
    // exclusive locking keeps the WAL index in memory and skips the file-lock
    // calls of every transaction, about a quarter of a small commit's cost.
    // Set before the first access, so no shared-memory index is ever made.
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.flush ? 'FULL' : 'NORMAL'}`);
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS messages (
          id TEXT PRIMARY KEY, queue TEXT NOT NULL, sender TEXT NOT NULL, recipients TEXT NOT NULL,
          meta TEXT NOT NULL, schedule TEXT, due INTEGER, attempts INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS data (id TEXT PRIMARY KEY, body BLOB NOT NULL);
      `);
    } catch (err) {
      this.db.close();
      const busy = (err as { code?: string }).code === 'SQLITE_BUSY';
      throw new SpoolError(busy ? `spool ${this.file} is locked: another process has it open` : `cannot open spool ${this.file}: ${(err as Error).message}`);
    }
    this.stmts = {
      // Positional parameters: binding from an object costs a property lookup per name.
      envelope: this.db.prepare(`INSERT INTO messages (id, queue, sender, recipients, meta, schedule, due, attempts)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET queue=excluded.queue, sender=excluded.sender, recipients=excluded.recipients,
        meta=excluded.meta, schedule=excluded.schedule, due=excluded.due, attempts=excluded.attempts`),
      state: this.db.prepare('UPDATE messages SET due = ?, attempts = ? WHERE id = ?'),
      data: this.db.prepare('INSERT INTO data (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body'),
      removeMeta: this.db.prepare('DELETE FROM messages WHERE id = ?'),
      removeData: this.db.prepare('DELETE FROM data WHERE id = ?'),
      loadEnvelope: this.db.prepare('SELECT sender, recipients, schedule, due, attempts FROM messages WHERE id = ?'),
      loadMeta: this.db.prepare('SELECT meta FROM messages WHERE id = ?').pluck(),
      loadData: this.db.prepare('SELECT body FROM data WHERE id = ?').pluck(),
      enumerate: this.db.prepare('SELECT id, queue, due, attempts, schedule FROM messages WHERE id > ? AND rowid <= ? ORDER BY id LIMIT ?'),
      maxRowid: this.db.prepare('SELECT coalesce(max(rowid), 0) FROM messages').pluck(),
      count: this.db.prepare('SELECT count(*) FROM messages').pluck(),
    };
    this.commitOps = this.db.transaction((ops: Op[]) => {
      this.beforeWrite?.();
      for (const op of ops) this.apply(op);
    });
  }

  /**
   * Writes the message's dirty parts plus its due time and attempt count.
   * Resolves when committed. Dirty flags are cleared now (so later edits set
   * them again) and restored if the commit fails.
   */
  save(msg: Message): Promise<void> {
    this.assertOpen();
    const metaWasDirty = msg.metaDirty;
    const dataWasDirty = msg.dataDirty;
    if (msg.metaDirty || !this.pendingMeta.has(msg.id) && msg.store !== this) {
      const meta = msg.metaObject();
      let queue: string;
      try {
        queue = msg.queueName();
      } catch {
        queue = ''; // recomputed (and reported) at restart
      }
      const op: Op = {
        kind: 'envelope', id: msg.id, queue, sender: msg.sender, recipients: JSON.stringify(msg.recipients),
        meta: encodeJson(meta), schedule: msg.scheduling ? JSON.stringify(msg.scheduling) : null,
        due: msg.due, attempts: msg.numAttempts,
      };
      this.pendingMeta.set(msg.id, op);
      this.ops.push(op);
      msg.metaDirty = false;
    } else {
      this.ops.push({ kind: 'state', id: msg.id, due: msg.due, attempts: msg.numAttempts });
    }
    if (msg.dataDirty || msg.store !== this && !this.pendingData.has(msg.id)) {
      const op: Op = { kind: 'data', id: msg.id, body: msg.getData() };
      this.pendingData.set(msg.id, op);
      this.ops.push(op);
      msg.dataDirty = false;
    }
    msg.store = this;
    return this.enqueueWaiter(() => {
      if (metaWasDirty) msg.metaDirty = true;
      if (dataWasDirty) msg.dataDirty = true;
    });
  }

  /** Persists only due time and attempt count (meta and data unchanged). */
  saveState(msg: Message): Promise<void> {
    this.assertOpen();
    this.ops.push({ kind: 'state', id: msg.id, due: msg.due, attempts: msg.numAttempts });
    return this.enqueueWaiter();
  }

  remove(id: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ops.push({ kind: 'remove', id });
    this.pendingMeta.delete(id);
    this.pendingData.delete(id);
    return this.enqueueWaiter();
  }

  loadMeta(id: string): JsonObject {
    const pending = this.pendingMeta.get(id);
    const text = pending ? pending.meta : (this.stmts.loadMeta.get(id) as string | undefined);
    if (text === undefined) throw new SpoolError(`message ${id} is not in the spool`);
    return decodeJson(text) as JsonObject;
  }

  loadData(id: string): Uint8Array {
    const pending = this.pendingData.get(id);
    if (pending) return pending.body;
    const body = this.stmts.loadData.get(id) as Buffer | undefined;
    if (body === undefined) throw new SpoolError(`data of message ${id} is not in the spool`);
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }

  /** A shrunk Message (meta and data load on demand), or null when absent. */
  load(id: string): Message | null {
    this.assertOpen();
    const pending = this.pendingMeta.get(id);
    const row = pending
      ? { sender: pending.sender, recipients: pending.recipients, schedule: pending.schedule, due: pending.due, attempts: pending.attempts }
      : (this.stmts.loadEnvelope.get(id) as { sender: string; recipients: string; schedule: string | null; due: number | null; attempts: number } | undefined);
    if (!row) return null;
    const msg = new Message({
      id, sender: row.sender, recipients: JSON.parse(row.recipients) as string[], data: EMPTY,
      due: row.due, numAttempts: row.attempts, scheduling: row.schedule ? JSON.parse(row.schedule) : null,
    });
    msg.store = this;
    msg.metaDirty = false;
    msg.dataDirty = false;
    msg.shrink();
    return msg;
  }

  /**
   * Every spooled message's index entry, in pages (no cursor stays open, so
   * the caller may write between pages). Reads committed state.
   */
  *enumerate(pageSize = 5000): IterableIterator<SpoolIndexEntry> {
    this.assertOpen();
    // Only what was spooled before enumeration began: messages accepted while
    // it runs are already queued, and reading them again would send them twice
    // (KumoMTA skips entries created after start-up too). Upserts keep rowids.
    const lastRowid = this.stmts.maxRowid.get() as number;
    let after = '';
    for (;;) {
      const rows = this.stmts.enumerate.all(after, lastRowid, pageSize) as SpoolIndexEntry[];
      for (const row of rows) yield row;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Writes queued for the next group commit. */
  get pendingWrites(): number {
    return this.ops.length;
  }

  count(): number {
    return this.stmts.count.get() as number;
  }

  /** Resolves when everything queued so far is committed. */
  flush(): Promise<void> {
    if (this.ops.length === 0) return Promise.resolve();
    return this.enqueueWaiter();
  }

  /** Whether free space and inodes are above the configured minimums; the reason otherwise. */
  health(): { healthy: true } | { healthy: false; reason: string } {
    try {
      const s = statfsSync(this.file);
      const check = (limit: FreeSpaceLimit, free: number, total: number, what: string) => {
        const need = 'percent' in limit ? (total * limit.percent) / 100 : limit.absolute;
        return free < need ? `${what} free ${free} is below the minimum ${Math.ceil(need)}` : null;
      };
      const reason = check(this.limits.space, s.bavail * s.bsize, s.blocks * s.bsize, 'disk space') ?? (s.files > 0 ? check(this.limits.inodes, s.ffree, s.files, 'inodes') : null);
      return reason ? { healthy: false, reason } : { healthy: true };
    } catch (err) {
      return { healthy: false, reason: (err as Error).message };
    }
  }

  close(): void {
    if (this.closed) return;
    this.commitNow();
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolError('spool is closed');
  }

  private enqueueWaiter(onFailure?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject, onFailure });
      if (this.ops.length >= this.maxBatch) this.commitNow();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commitNow());
      }
    });
  }

  private commitNow(): void {
    this.scheduled = false;
    const ops = this.ops;
    const waiters = this.waiters;
    if (ops.length === 0 && waiters.length === 0) return;
    this.ops = [];
    this.waiters = [];
    try {
      this.commitOps(ops);
    } catch (err) {
      const failure = new SpoolError(`spool write failed: ${(err as Error).message}`);
      this.onWriteError?.(failure);
      for (const w of waiters) {
        w.onFailure?.();
        w.reject(failure);
      }
      return;
    } finally {
      for (const op of ops) {
        if (op.kind === 'envelope' && this.pendingMeta.get(op.id) === op) this.pendingMeta.delete(op.id);
        if (op.kind === 'data' && this.pendingData.get(op.id) === op) this.pendingData.delete(op.id);
      }
    }
    this.stats.commits++;
    this.stats.ops += ops.length;
    for (const w of waiters) w.resolve();
  }

  private apply(op: Op): void {
    switch (op.kind) {
      case 'envelope':
        this.stmts.envelope.run(op.id, op.queue, op.sender, op.recipients, op.meta, op.schedule, op.due, op.attempts);
        break;
      case 'state':
        this.stmts.state.run(op.due, op.attempts, op.id);
        break;
      case 'data':
        this.stmts.data.run(op.id, Buffer.isBuffer(op.body) ? op.body : Buffer.from(op.body.buffer, op.body.byteOffset, op.body.byteLength));
        break;
      case 'remove':
        this.stmts.removeMeta.run(op.id);
        this.stmts.removeData.run(op.id);
        break;
    }
  }
}
