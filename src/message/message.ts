import type { JsonObject, JsonValue } from '../util/json.ts';
import { queueNameFor } from './queue-name.ts';
import { createdMsFromSpoolId, newSpoolIdAt } from './spool-id.ts';

/** Per-message scheduling constraints set by `msg:set_scheduling` (lua-api.md §11.1). */
export interface Scheduling {
  first_attempt?: string;
  expires?: string;
  dow?: string;
  tz?: string;
  start?: string;
  end?: string;
}

/**
 * Where a shrunk message's meta and data come back from. The spool installs
 * one so that a queued message can drop its body from memory.
 */
export interface MessageStore {
  loadMeta(id: string): JsonObject;
  loadData(id: string): Uint8Array;
}

export interface MessageInit {
  id?: string;
  sender: string;
  recipients: string[];
  meta?: JsonObject;
  data: Uint8Array;
  /** Defaults to now; only used when `id` is absent. */
  createdMs?: number;
  due?: number | null;
  numAttempts?: number;
  scheduling?: Scheduling | null;
}

export class MessageError extends Error {}

/**
 * The unit the engine moves: an envelope, JSON meta and RFC 5322 (or, for log
 * hooks, JSON) bytes. Persistent state is id, envelope, meta, scheduling and
 * data; due time and attempt count are engine state that kumo-lua also spools.
 */
export class Message {
  readonly id: string;
  readonly createdMs: number;
  sender: string;
  recipients: string[];
  due: number | null;
  numAttempts: number;
  scheduling: Scheduling | null;
  metaDirty = true;
  dataDirty = true;
  store: MessageStore | null = null;
  private meta: JsonObject | null;
  private data: Uint8Array | null;

  constructor(init: MessageInit) {
    if (init.id === undefined) {
      // The id encodes the creation time; no need to decode what we just chose.
      const fresh = newSpoolIdAt(init.createdMs ?? Date.now());
      this.id = fresh.id;
      this.createdMs = fresh.createdMs;
    } else {
      this.id = init.id;
      this.createdMs = createdMsFromSpoolId(this.id);
    }
    this.sender = init.sender;
    this.recipients = [...init.recipients];
    this.meta = { ...(init.meta ?? {}) };
    this.data = init.data;
    this.due = init.due ?? null;
    this.numAttempts = init.numAttempts ?? 0;
    this.scheduling = init.scheduling ?? null;
  }

  /** Whether meta is held in memory (not shrunk away to the store). */
  get metaInMemory(): boolean {
    return this.meta !== null;
  }

  /** All meta, loading it back from the store if it was shrunk away. */
  metaObject(): JsonObject {
    if (this.meta === null) {
      if (!this.store) throw new MessageError(`meta of ${this.id} is not loaded and there is no store`);
      this.meta = this.store.loadMeta(this.id);
    }
    return this.meta;
  }

  getMeta(key: string): JsonValue | undefined {
    return this.metaObject()[key];
  }

  /** `undefined` is stored as JSON null, like KumoMTA's set_meta(nil). */
  setMeta(key: string, value: JsonValue | undefined): void {
    this.metaObject()[key] = value === undefined ? null : value;
    this.metaDirty = true;
  }

  getData(): Uint8Array {
    if (this.data === null) {
      if (!this.store) throw new MessageError(`data of ${this.id} is not loaded and there is no store`);
      this.data = this.store.loadData(this.id);
    }
    return this.data;
  }

  setData(bytes: Uint8Array): void {
    this.data = bytes;
    this.dataDirty = true;
  }

  isDataLoaded(): boolean {
    return this.data !== null;
  }

  /** Drops meta and data from memory; only allowed once they are saved. */
  shrink(): boolean {
    if (!this.store || this.metaDirty || this.dataDirty) return false;
    this.meta = null;
    this.data = null;
    return true;
  }

  shrinkData(): boolean {
    if (!this.store || this.dataDirty) return false;
    this.data = null;
    return true;
  }

  queueName(): string {
    return queueNameFor(this.metaObject(), this.recipients);
  }

  ageMs(nowMs: number): number {
    return nowMs - this.createdMs;
  }
}
