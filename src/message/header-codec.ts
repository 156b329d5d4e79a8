/**
 * Header value text <-> header line bytes. RFC 2047 encoded words and line
 * folding are libmime's job (the mail stack nodemailer and mailparser are built
 * on); this file only decides when to call it.
 */
import { libmime } from './libmime.ts';
import { decodeText, encodeText } from '../lua/strings.ts';
import { parseHeaderBlock, rawHeaderValue, headersNamed, type HeaderBlock, type RawHeader } from './headers.ts';

/** Folding whitespace removed: a line break followed by WSP becomes just the WSP. */
function unfold(text: string): string {
  return text.replace(/\r?\n(?=[ \t])/g, '');
}

/**
 * The unstructured text of a raw header value: unfolded, RFC 2047 words
 * decoded, 8-bit bytes read as UTF-8 (invalid sequences become U+FFFD, as
 * KumoMTA's lossy conversion does). Falls back to the unfolded raw text when
 * decoding fails.
 */
export function decodeHeaderValue(raw: Uint8Array): string {
  const text = unfold(decodeText(raw));
  try {
    return libmime().decodeWords(text).trimEnd();
  } catch {
    return text.trimEnd();
  }
}

/** `[name, decoded value]` of every usable header, in message order. */
export function allDecodedHeaders(data: Uint8Array, block: HeaderBlock = parseHeaderBlock(data)): Array<[string, string]> {
  return block.headers.filter((h) => h.colon >= 0).map((h) => [h.name, decodeHeaderValue(rawHeaderValue(data, h))]);
}

export function decodedValuesNamed(data: Uint8Array, name: string): string[] {
  return headersNamed(parseHeaderBlock(data), name).map((h: RawHeader) => decodeHeaderValue(rawHeaderValue(data, h)));
}

/** Longest line libmime should produce when folding (RFC 5322 recommends 78). */
const FOLD_WIDTH = 76;
/** Size of each encoded word before folding. */
const ENCODED_WORD_CHUNK = 52;

/**
 * `Name: value\r\n`. With `encode`, non-ASCII text becomes RFC 2047
 * Q-encoded words and the line is folded; without it the value goes in
 * verbatim (UTF-8 bytes for non-ASCII text).
 */
export function headerLine(name: string, value: string, encode: boolean): Uint8Array {
  if (!encode) return encodeText(`${name}: ${value}\r\n`);
  const encoded = libmime().encodeWords(value, 'Q', ENCODED_WORD_CHUNK);
  const folded = libmime().foldLines(`${name}: ${encoded}`, FOLD_WIDTH);
  return encodeText(`${folded}\r\n`);
}

/** Folds an ASCII header line that is too long (used by the LINE_TOO_LONG fix). */
export function foldHeaderText(line: string): string {
  return libmime().foldLines(line, FOLD_WIDTH);
}
