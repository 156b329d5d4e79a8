/**
 * Table keys pushed from JavaScript, kept as one Lua string per key.
 *
 * Fengari hashes a string key on every table store by building a hex string
 * of its bytes. Converting records to tables stores the same few dozen keys
 * again and again; keeping each key's Lua string (with its hash computed)
 * means that work is done once per process. Lua strings are immutable and
 * belong to no state, so one cache serves every state. Bounded, so arbitrary
 * keys from user data cannot grow it without limit (beyond it each key gets
 * a fresh string).
 */
import { decodeUtf8Strict, encodeText } from './strings.ts';
import { hostKey, type TString } from './host-values.ts';

const MAX_KEYS = 4096;
const keys = new Map<string, TString>();

/** The Lua string for a table key, with its table hash computed. */
export function internedKey(key: string): TString {
  let ts = keys.get(key);
  if (ts === undefined) {
    ts = hostKey(encodeText(key));
    if (keys.size < MAX_KEYS) keys.set(key, ts);
  }
  return ts;
}

/** Decoded table keys by their Lua string bytes (fengari hands out the same array for the same string). */
const decodedKeys = new WeakMap<Uint8Array, string | null>();

/** The key's text, or undefined when it is not UTF-8; decoded once per Lua string. */
export function keyTextStrict(bytes: Uint8Array): string | undefined {
  let text = decodedKeys.get(bytes);
  if (text === undefined) {
    text = decodeUtf8Strict(bytes) ?? null;
    decodedKeys.set(bytes, text);
  }
  return text ?? undefined;
}
