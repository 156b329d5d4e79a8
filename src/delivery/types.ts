import type { Message } from '../message/message.ts';

/**
 * What one send/send_batch call produced. `delivered` = the Lua method
 * returned a string; `rejected` = it raised kumo.reject(code, text);
 * `error` = anything else escaped (its text already carries the
 * "sender:send method failed: ..." style prefix).
 */
export type SendOutcome =
  | { kind: 'delivered'; content: string }
  | { kind: 'rejected'; code: number; text: string }
  | { kind: 'error'; text: string };

/** One custom_lua "connection": the object a constructor event returned. */
export interface DeliveryConnection {
  /** Delivers the whole batch; one outcome covers every message. Rejections count as `error`. */
  send(batch: Message[]): Promise<SendOutcome>;
  /** Called once when the session ends (not after a constructor failure or watchdog abort). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** 1 ⇒ the Lua side calls `send(msg)`; more ⇒ `send_batch(msgs)`. */
  batchSize: number;
}

/** Runs a custom_lua constructor event; a rejection/throw is a connection failure. */
export interface ConnectionFactory {
  connect(constructorName: string, domain: string, tenant: string | null, campaign: string | null, options?: ConnectOptions): Promise<DeliveryConnection>;
}
