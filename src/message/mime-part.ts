/**
 * MimePart (lua-api-more.md §7.3): an editable copy of a MIME tree. Each node
 * owns its bytes; an untouched subtree serialises to exactly the bytes it
 * was parsed from, an edited multipart is rebuilt from its children (its
 * preamble and epilogue are dropped then).
 */
import { createHash, randomUUID } from 'node:crypto';
import { encodeText } from '../lua/strings.ts';
import { concatBytes, headersNamed, rawHeaderValue } from './headers.ts';
import { decodeHeaderValue } from './header-codec.ts';
import { parseMimePart, type MimePart } from './mime-tree.ts';
import { decodedBodyText, partWithBinary, partWithHeader, partWithText, transferDecoded } from './part-body.ts';
import { libmime } from './libmime.ts';

export class MimePartError extends Error {}

export class MimeNode {
  private raw: Uint8Array;
  private info: MimePart;
  private changed = false;
  readonly children: MimeNode[];

  constructor(raw: Uint8Array) {
    this.raw = raw;
    this.info = parseMimePart(raw, 0, raw.length);
    this.children = this.info.children.map((c) => new MimeNode(raw.slice(c.start, c.bodyEnd)));
  }

  get contentType(): string {
    return this.info.contentType;
  }

  get isMultipart(): boolean {
    return this.info.contentType.startsWith('multipart/');
  }

  get isText(): boolean {
    return this.info.contentType.startsWith('text/');
  }

  /** Every header as [name, decoded value], in order. */
  headers(): Array<[string, string]> {
    return this.info.block.headers.filter((h) => h.colon >= 0).map((h) => [h.name, decodeHeaderValue(rawHeaderValue(this.raw, h))]);
  }

  /** The first value of `name`, decoded, or undefined. */
  header(name: string): string | undefined {
    const h = headersNamed(this.info.block, name)[0];
    return h ? decodeHeaderValue(rawHeaderValue(this.raw, h)) : undefined;
  }

  private modified(): boolean {
    return this.changed || this.children.some((c) => c.modified());
  }

  toBytes(): Uint8Array {
    if (!this.isMultipart || !this.modified()) return this.raw;
    const boundary = this.info.contentTypeParams.boundary ?? this.newBoundary();
    const parts: Uint8Array[] = [this.raw.subarray(0, this.info.bodyStart)];
    for (const child of this.children) parts.push(encodeText(`--${boundary}\r\n`), child.toBytes(), encodeText('\r\n'));
    parts.push(encodeText(`--${boundary}--\r\n`));
    return concatBytes(parts);
  }

  private newBoundary(): string {
    const boundary = `kumo-${randomUUID()}`;
    this.setHeader('Content-Type', `${this.info.contentType}; boundary="${boundary}"`);
    return boundary;
  }

  private replaceRaw(raw: Uint8Array): void {
    const children = this.children;
    this.raw = raw;
    this.info = parseMimePart(raw, 0, raw.length);
    this.changed = true;
    if (!this.isMultipart) children.length = 0;
  }

  setHeader(name: string, value: string): void {
    this.replaceRaw(partWithHeader(this.raw, this.info, name, value));
  }

  /** Transfer-decoded body: text for text/* parts, bytes otherwise. */
  body(): string | Uint8Array {
    if (this.isText) return decodedBodyText(this.raw, this.info);
    return transferDecoded(this.raw, this.info);
  }

  /** Re-encodes a new body into this part (text/* as text, the rest as bytes). */
  setBody(content: string | Uint8Array): void {
    if (this.isMultipart) throw new MimePartError('a multipart part has no body of its own; use append_part');
    const raw =
      this.isText && typeof content === 'string'
        ? partWithText(this.raw, this.info, content)
        : partWithBinary(this.raw, this.info, typeof content === 'string' ? encodeText(content) : content);
    this.replaceRaw(raw);
  }

  appendPart(part: MimeNode): void {
    if (!this.isMultipart) throw new MimePartError(`append_part: this part is ${this.info.contentType}, not multipart`);
    this.children.push(new MimeNode(part.toBytes().slice()));
    this.changed = true;
  }

  /** Content-Disposition value and parameters (lower-cased value). */
  disposition(): { value: string; params: Record<string, string> } | undefined {
    const text = this.header('Content-Disposition');
    if (text === undefined) return undefined;
    const parsed = libmime().parseHeaderValue(text);
    return { value: parsed.value.toLowerCase(), params: parsed.params };
  }

  fileName(): string | undefined {
    return this.disposition()?.params.filename ?? this.info.contentTypeParams.name;
  }

  contentId(): string | undefined {
    return this.header('Content-ID')?.trim().replace(/^<(.*)>$/, '$1');
  }
}

export function parseMime(data: Uint8Array): MimeNode {
  return new MimeNode(data.slice());
}

/** A new leaf part; the body goes through the same encoder as an edit. */
export function newLeaf(contentType: string, body: string | Uint8Array): MimeNode {
  const node = new MimeNode(encodeText(`Content-Type: ${contentType}\r\n\r\n`));
  node.setBody(body);
  return node;
}

export function newMultipart(contentType: string, parts: readonly MimeNode[], boundary = `kumo-${randomUUID()}`): MimeNode {
  const node = new MimeNode(encodeText(`Content-Type: ${contentType}; boundary="${boundary}"\r\n\r\n--${boundary}--\r\n`));
  for (const p of parts) node.appendPart(p);
  return node;
}

export interface SimpleStructure {
  text?: MimeNode;
  html?: MimeNode;
  ampHtml?: MimeNode;
  header: MimeNode;
  attachments: Array<{ fileName?: string; inline: boolean; contentId?: string; part: MimeNode }>;
}

function* leaves(node: MimeNode): Generator<MimeNode> {
  if (!node.isMultipart) yield node;
  for (const c of node.children) yield* leaves(c);
}

/** The body parts a reader sees and everything else as attachments. */
export function simpleStructure(root: MimeNode): SimpleStructure {
  const out: SimpleStructure = { header: root, attachments: [] };
  for (const leaf of leaves(root)) {
    const disposition = leaf.disposition()?.value;
    const slot = disposition === 'attachment' ? undefined : ({ 'text/plain': 'text', 'text/html': 'html', 'text/x-amp-html': 'ampHtml' } as const)[leaf.contentType];
    if (slot && !out[slot]) {
      out[slot] = leaf;
      continue;
    }
    out.attachments.push({ fileName: leaf.fileName(), inline: disposition === 'inline', contentId: leaf.contentId(), part: leaf });
  }
  return out;
}

export interface Attachment {
  contentType: string;
  data: Uint8Array;
  fileName?: string;
  inline: boolean;
  contentId?: string;
}

/** What kumo.mimepart.builder() collects before build(). */
export interface MimeBuild {
  text?: string;
  html?: string;
  ampHtml?: string;
  attachments: Array<Attachment | MimeNode>;
  /** Boundaries derived from the content instead of random ones (reproducible output). */
  stable: boolean;
}

function attachmentNode(a: Attachment): MimeNode {
  const type = a.fileName ? `${a.contentType}; name="${a.fileName}"` : a.contentType;
  const node = newLeaf(type, a.data);
  const disposition = a.inline ? 'inline' : 'attachment';
  node.setHeader('Content-Disposition', a.fileName ? `${disposition}; filename="${a.fileName}"` : disposition);
  if (a.contentId !== undefined) node.setHeader('Content-ID', `<${a.contentId}>`);
  return node;
}

/**
 * text/plain, text/html and AMP parts as multipart/alternative, inline
 * attachments (with a Content-ID) under multipart/related, the rest under
 * multipart/mixed; a single part is not wrapped.
 */
export function buildMime(spec: MimeBuild): MimeNode {
  const boundaryOf = (parts: readonly MimeNode[], kind: string): string | undefined => {
    if (!spec.stable) return undefined;
    const hash = createHash('sha256').update(kind);
    for (const p of parts) hash.update(p.toBytes());
    return `kumo-${hash.digest('hex').slice(0, 24)}`;
  };
  const wrap = (kind: string, parts: MimeNode[]): MimeNode | undefined =>
    parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : newMultipart(`multipart/${kind}`, parts, boundaryOf(parts, kind));
  const texts: MimeNode[] = [];
  if (spec.text !== undefined) texts.push(newLeaf('text/plain; charset="utf-8"', spec.text));
  if (spec.ampHtml !== undefined) texts.push(newLeaf('text/x-amp-html; charset="utf-8"', spec.ampHtml));
  if (spec.html !== undefined) texts.push(newLeaf('text/html; charset="utf-8"', spec.html));
  const attached = spec.attachments.map((a) => (a instanceof MimeNode ? a : attachmentNode(a)));
  const related = attached.filter((n) => n.disposition()?.value === 'inline' && n.contentId() !== undefined);
  const mixed = attached.filter((n) => !related.includes(n));
  const alternative = wrap('alternative', texts);
  const body = wrap('related', [...(alternative ? [alternative] : []), ...related]);
  const root = wrap('mixed', [...(body ? [body] : []), ...mixed]);
  if (!root) throw new MimePartError('build: nothing to build (add a text part or an attachment)');
  root.setHeader('MIME-Version', '1.0');
  return root;
}
