/**
 * kumo.encode.charset_decode / charset_encode (clients.md §10) on the WHATWG
 * Encoding Standard: decoding uses TextDecoder (fatal); encoding handles
 * UTF-8, UTF-16LE/BE and every single-byte charset (a reverse table built by
 * decoding all 256 bytes). Unmappable characters become `&#NNNN;` unless
 * errors are not ignored. `ascii`/`us-ascii` are strict 7-bit, not windows-1252.
 */
export class CharsetError extends Error {}

const STRICT_ASCII = new Set(['ascii', 'us-ascii']);

// Node 20's TextDecoder decodes windows-1252 as ISO-8859-1 (0x80-0x9F become C1
// controls), so this range is mapped here from the WHATWG index.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b);
  return out;
}

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
  if (decoder.encoding === 'windows-1252') return decodeWindows1252(bytes);
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
    const s = encoding === 'windows-1252' ? decodeWindows1252(Uint8Array.of(b)) : decoder.decode(Uint8Array.of(b));
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
