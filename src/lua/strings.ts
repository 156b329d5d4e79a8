/**
 * Lua strings are byte arrays. These helpers move text and bytes across the
 * boundary without Fengari's slow per-character codec for anything large
 * (fengari-notes.md Q4): short ASCII goes through a tight loop, the rest
 * through TextEncoder/TextDecoder.
 */
import { isAscii } from 'node:buffer';
import { lua, type LuaState } from './fengari.ts';
import { hostPush, hostString } from './host-values.ts';

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is data, not a byte-order mark, in Lua strings.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const SHORT = 64;
const keyCache = new Map<string, Uint8Array>();

/** UTF-8 bytes of a JS string. */
export function encodeText(s: string): Uint8Array {
  if (s.length <= SHORT) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return encoder.encode(s);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(s);
}

/** Lossy decode (invalid sequences become U+FFFD), for messages and logs. */
export function decodeText(bytes: Uint8Array): string {
  if (bytes.length <= SHORT) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c > 0x7f) return utf8.decode(bytes);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes);
}

/** Strict decode: undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  if (bytes.length > SHORT && isAscii(bytes)) return utf8.decode(bytes);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 0x7f) {
      try {
        return strictUtf8.decode(bytes);
      } catch {
        return undefined;
      }
    }
  }
  return decodeText(bytes);
}

/** Bytes for a table key or other name used over and over: encoded once. */
export function keyBytes(name: string): Uint8Array {
  let b = keyCache.get(name);
  if (!b) {
    b = encodeText(name);
    keyCache.set(name, b);
  }
  return b;
}

/** Pushes the UTF-8 bytes of s (a fresh array, so the Lua string takes it without a copy). */
export function pushText(L: LuaState, s: string): void {
  hostPush(L, hostString(encodeText(s)));
}

/**
 * Pushes a copy of `bytes` (the Lua string owns it; the caller's array, a
 * pooled Node Buffer included, may change later). One copy: lua_pushlstring
 * would copy again what a Buffer had to be copied out of first.
 */
export function pushBytes(L: LuaState, bytes: Uint8Array): void {
  hostPush(L, hostString(new Uint8Array(bytes)));
}

/** Bytes of the string (or number, converted) at idx; Fengari's buffer, do not mutate. */
export function toBytes(L: LuaState, idx: number): Uint8Array {
  return lua.lua_tolstring(L, idx) as Uint8Array;
}

export function toText(L: LuaState, idx: number): string {
  return decodeText(toBytes(L, idx));
}
