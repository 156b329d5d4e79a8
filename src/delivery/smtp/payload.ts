/**
 * The bytes on the wire (smtp-delivery.md §3.7, §6): the stored message,
 * dot-stuffed, nothing else changed; and the 8-bit envelope/body checks.
 */

/** Adds a `.` before a leading `.` and after every LF followed by `.`; line endings stay as stored. */
export function dotStuff(data: Uint8Array): Buffer {
  const src = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  let start = 0;
  if (src[0] === 0x2e) {
    parts.push(Buffer.from('.'));
  }
  for (let i = src.indexOf(0x0a); i >= 0; i = src.indexOf(0x0a, i + 1)) {
    if (src[i + 1] === 0x2e) {
      parts.push(src.subarray(start, i + 1), Buffer.from('.'));
      start = i + 1;
    }
  }
  if (parts.length === 0) return src;
  parts.push(src.subarray(start));
  return Buffer.concat(parts);
}

/** `.` CRLF after a payload ending in LF, else CRLF `.` CRLF (also for an empty payload). */
export function terminator(data: Uint8Array): string {
  return data.length > 0 && data[data.length - 1] === 0x0a ? '.\r\n' : '\r\n.\r\n';
}

export function has8bit(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! >= 0x80) return true;
  return false;
}

export function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text);
}
