/**
 * A MIME leaf's body as text and back: transfer decoding (base64,
 * quoted-printable), charset decoding, and re-encoding a new text into the
 * same part — keeping its transfer encoding and charset where they can carry
 * the text, switching to quoted-printable / UTF-8 where they cannot.
 */
import { libmime } from './libmime.ts';
import libqp from 'libqp';
import { decodeText, encodeText } from '../lua/strings.ts';
import { charsetDecode, charsetEncode } from '../kumo/support/charsets.ts';
import { concatBytes, headersNamed, parseHeaderBlock, rawHeaderValue, withoutHeaders } from './headers.ts';
import type { MimePart } from './mime-tree.ts';

export class BinaryBodyError extends Error {}

/** The body bytes with the transfer encoding undone. */
export function transferDecoded(data: Uint8Array, part: MimePart): Uint8Array {
  const raw = data.subarray(part.bodyStart, part.bodyEnd);
  if (part.transferEncoding === 'base64') return new Uint8Array(Buffer.from(decodeText(raw), 'base64'));
  if (part.transferEncoding === 'quoted-printable') return new Uint8Array(libqp.decode(decodeText(raw)));
  return raw;
}

function charsetOf(part: MimePart): string {
  return part.contentTypeParams.charset ?? 'us-ascii';
}

/** The body as text; a body that is not text in its charset is a BinaryBodyError. */
export function decodedBodyText(data: Uint8Array, part: MimePart): string {
  const bytes = transferDecoded(data, part);
  try {
    return charsetDecode(charsetOf(part), bytes);
  } catch {
    // Undeclared 8-bit text is very often UTF-8.
    if (!part.contentTypeParams.charset) {
      try {
        return charsetDecode('utf-8', bytes);
      } catch {
        // fall through to the error
      }
    }
    throw new BinaryBodyError(`the ${part.contentType} part is binary, not ${charsetOf(part)} text`);
  }
}

const MAX_LINE = 998;

function needsTransferEncoding(bytes: Uint8Array): boolean {
  let line = 0;
  for (const b of bytes) {
    if (b > 0x7f || b === 0) return true;
    line = b === 0x0a ? 0 : line + 1;
    if (line > MAX_LINE) return true;
  }
  return false;
}

function encodeBody(bytes: Uint8Array, encoding: string): Uint8Array {
  if (encoding === 'base64') return encodeText(`${(Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n`);
  if (encoding === 'quoted-printable') return encodeText(`${libqp.wrap(libqp.encode(Buffer.from(bytes)), 76)}`);
  return bytes;
}

function headerValue(partData: Uint8Array, name: string): string | undefined {
  const h = headersNamed(parseHeaderBlock(partData), name)[0];
  return h ? decodeText(rawHeaderValue(partData, h)).replace(/\r?\n(?=[ \t])/g, '') : undefined;
}

/** Replaces (or adds) one header of the part's header block. */
function withHeader(partData: Uint8Array, name: string, value: string): Uint8Array {
  const lower = name.toLowerCase();
  const without = withoutHeaders(partData, (h) => h.name.toLowerCase() === lower) ?? partData;
  const end = parseHeaderBlock(without).headerEnd;
  return concatBytes([without.subarray(0, end), encodeText(`${name}: ${value}\r\n`), without.subarray(end)]);
}

/** Replaces (or adds) a header of the part's header block; exported for replace_body's Content-Type. */
export function partWithHeader(data: Uint8Array, part: MimePart, name: string, value: string): Uint8Array {
  return concatBytes([withHeader(data.subarray(part.start, part.bodyStart), name, value), data.subarray(part.bodyStart, part.bodyEnd)]);
}

/**
 * The part's bytes with `bytes` as its new (decoded) body: the same transfer
 * encoding when it can carry them, else `fallback`.
 */
function partWithBytes(partHeaders: Uint8Array, transferEncoding: string, bytes: Uint8Array, fallback: 'quoted-printable' | 'base64'): Uint8Array {
  let encoding = transferEncoding;
  if (encoding !== 'base64' && encoding !== 'quoted-printable' && needsTransferEncoding(bytes)) {
    encoding = fallback;
    partHeaders = withHeader(partHeaders, 'Content-Transfer-Encoding', encoding);
  }
  return concatBytes([partHeaders, encodeBody(bytes, encoding)]);
}

/** A binary body: base64 unless the part's encoding already carries it. */
export function partWithBinary(data: Uint8Array, part: MimePart, bytes: Uint8Array): Uint8Array {
  return partWithBytes(data.subarray(part.start, part.bodyStart), part.transferEncoding, bytes, 'base64');
}

/**
 * The part's bytes with `text` as its new body: same charset when it can
 * represent the text (else UTF-8), same transfer encoding when it can carry
 * the bytes (else quoted-printable).
 */
export function partWithText(data: Uint8Array, part: MimePart, text: string): Uint8Array {
  let partHeaders: Uint8Array = data.subarray(part.start, part.bodyStart);
  let bytes: Uint8Array;
  try {
    bytes = charsetEncode(charsetOf(part), text, false);
  } catch {
    bytes = encodeText(text);
    const ct = libmime().parseHeaderValue(headerValue(partHeaders, 'Content-Type') ?? part.contentType);
    ct.params.charset = 'utf-8';
    partHeaders = withHeader(partHeaders, 'Content-Type', libmime().buildHeaderValue(ct));
  }
  return partWithBytes(partHeaders, part.transferEncoding, bytes, 'quoted-printable');
}
