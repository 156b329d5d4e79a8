/**
 * msg:append_text_plain / msg:append_text_html (lua-api-more.md §7.5): add a
 * footer to the first text/plain (or text/html) part and rewrite the message
 * around it; everything outside that part keeps its bytes.
 */
import { concatBytes } from './headers.ts';
import { flattenParts, isLeaf, parseMimePart } from './mime-tree.ts';
import { decodedBodyText, partWithText } from './part-body.ts';

export type TextKind = 'plain' | 'html';

/** The new body: plain text after a CRLF; HTML before the last `</body>` (either casing KumoMTA knows), else at the end. */
export function appendedText(kind: TextKind, body: string, addition: string): string {
  if (kind === 'plain') return `${body}\r\n${addition}`;
  const at = Math.max(body.lastIndexOf('</body>'), body.lastIndexOf('</BODY>'));
  if (at < 0) return `${body}\r\n${addition}`;
  return `${body.slice(0, at)}\r\n${addition}${body.slice(at)}`;
}

/** The rewritten data, or undefined when the message has no such part. */
export function appendText(data: Uint8Array, kind: TextKind, addition: string): Uint8Array | undefined {
  const part = flattenParts(parseMimePart(data, 0, data.length)).find((p) => isLeaf(p) && p.contentType === `text/${kind}`);
  if (!part) return undefined;
  const text = appendedText(kind, decodedBodyText(data, part), addition);
  return concatBytes([data.subarray(0, part.start), partWithText(data, part, text), data.subarray(part.bodyEnd)]);
}
