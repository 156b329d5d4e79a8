/**
 * Request body encoders (form_url_encoded, form_multipart_data) and
 * kumo.http.build_url.
 */
import { randomBytes } from 'node:crypto';
import { HttpClientError } from './errors.ts';

/** application/x-www-form-urlencoded, as URLSearchParams writes it (space is '+'). */
export function encodeFormUrlEncoded(pairs: Iterable<readonly [string, string]>): string {
  return new URLSearchParams([...pairs].map(([k, v]) => [k, v])).toString();
}

/**
 * Appends params to a URL's query without re-encoding what is already there
 * (clients.md §1.7). The base is normalised as a WHATWG URL first; an empty
 * params list still leaves a `?`, as upstream does.
 */
export function buildUrl(base: string, params: Iterable<readonly [string, string]>): string {
  const url = parseUrl(base);
  const fragment = base.includes('#') ? `#${url.hash.replace(/^#/, '')}` : '';
  url.hash = '';
  let text = url.href.replace(/#$/, '');
  const encoded = encodeFormUrlEncoded(params);
  const queryStart = text.indexOf('?');
  if (queryStart < 0) text += '?' + encoded;
  else if (encoded !== '') text += (queryStart === text.length - 1 ? '' : '&') + encoded;
  return text + fragment;
}

/** WHATWG parse with error texts close to the Rust url crate's. */
export function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(text);
    throw new HttpClientError(hasScheme ? `invalid URL ${JSON.stringify(text)}` : `relative URL without a base: ${JSON.stringify(text)}`);
  }
}

export type MultipartValue =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'file'; data: Uint8Array; fileName: string };

export interface MultipartBody {
  contentType: string;
  body: Buffer;
}

/**
 * Standard multipart/form-data: raw part bodies, no Content-Transfer-Encoding.
 * Upstream builds the body with a mail MIME builder (with CTE headers), which
 * HTTP servers rarely decode; this is an intentional divergence (§1.3).
 */
export function encodeMultipart(parts: Iterable<readonly [string, MultipartValue]>, boundary = newBoundary()): MultipartBody {
  const chunks: Buffer[] = [];
  for (const [name, value] of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
    if (value.kind === 'file') head += `; filename="${value.fileName}"`;
    head += `\r\nContent-Type: ${value.kind === 'text' ? 'text/plain; charset="utf-8"' : 'application/octet-stream'}\r\n\r\n`;
    chunks.push(Buffer.from(head, 'utf8'));
    chunks.push(typeof value.data === 'string' ? Buffer.from(value.data, 'utf8') : Buffer.from(value.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

function newBoundary(): string {
  return `kumo-lua-${randomBytes(12).toString('hex')}`;
}
