/**
 * kumo.encode.charset_decode / charset_encode (clients.md §10) on the WHATWG
 * Encoding Standard: decoding uses TextDecoder (fatal); encoding handles
 * UTF-8, UTF-16LE/BE and every single-byte charset (a reverse table built by
 * decoding all 256 bytes). Unmappable characters become `&#NNNN;` unless
 * errors are not ignored. `ascii`/`us-ascii` are strict 7-bit, not windows-1252.
 */
export class CharsetError extends Error {}

const STRICT_ASCII = new Set(['ascii', 'us-ascii']);

function decoderFor(charset: string): TextDecoder | 'ascii' {
  for (const label of charset === charset.toLowerCase() ? [charset] : [charset, charset.toLowerCase()]) {
    if (STRICT_ASCII.has(label)) return 'ascii';
    try {
      return new TextDecoder(label, { fatal: true });
    } catch {
      // not a label; try the lowercase form next
    }
  }
  throw new CharsetError(`unknown charset ${charset}`);
}

export function charsetDecode(charset: string, bytes: Uint8Array): string {
  const decoder = decoderFor(charset);
  if (decoder === 'ascii') {
    const bad = bytes.findIndex((b) => b > 0x7f);
    if (bad >= 0) throw new CharsetError(`input string did not decode from ${charset} bytes: invalid byte 0x${bytes[bad]!.toString(16)} at offset ${bad}`);
    return new TextDecoder('utf-8').decode(bytes);
  }
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new CharsetError(`input string did not decode from ${decoder.encoding} bytes: ${(err as Error).message}`);
  }
}

const MULTI_BYTE = new Set(['gbk', 'gb18030', 'big5', 'euc-jp', 'iso-2022-jp', 'shift_jis', 'euc-kr']);
const reverseTables = new Map<string, Map<number, number>>();

/** Code point -> byte for a single-byte encoding, or undefined when it is not single-byte. */
function singleByteTable(encoding: string): Map<number, number> | undefined {
  if (MULTI_BYTE.has(encoding)) return undefined;
  let table = reverseTables.get(encoding);
  if (table) return table;
  const decoder = new TextDecoder(encoding);
  table = new Map();
  for (let b = 0; b < 256; b++) {
    const s = decoder.decode(Uint8Array.of(b));
    if (s.length === 1 && s !== '\uFFFD') table.set(s.codePointAt(0)!, b);
  }
  reverseTables.set(encoding, table);
  return table;
}

export function charsetEncode(charset: string, text: string, ignoreErrors: boolean): Uint8Array {
  const decoder = decoderFor(charset);
  const encoding = decoder === 'ascii' ? 'ascii' : decoder.encoding;
  if (encoding === 'utf-8') return new TextEncoder().encode(text);
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    const out = new Uint8Array(text.length * 2);
    const view = new DataView(out.buffer);
    for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), encoding === 'utf-16le');
    return out;
  }
  const table = encoding === 'ascii' ? null : singleByteTable(encoding);
  if (table === undefined) throw new CharsetError(`charset_encode: encoding into ${encoding} is not supported by kumo-lua (single-byte charsets, utf-8 and utf-16 are)`);
  const out: number[] = [];
  let replaced = false;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = table === null ? (cp < 0x80 ? cp : undefined) : table.get(cp);
    if (b !== undefined) out.push(b);
    else {
      replaced = true;
      for (const c of `&#${cp};`) out.push(c.charCodeAt(0));
    }
  }
  if (replaced && !ignoreErrors) throw new CharsetError(`input string did not encode into ${charset} bytes: encoding replaced chars with HTML numeric character references`);
  return Uint8Array.from(out);
}
