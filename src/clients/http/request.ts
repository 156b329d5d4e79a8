/**
 * The request builder behind `client:get(url)` and friends. Every method
 * changes the request in place; send() empties it, after which any use is
 * "broken request builder" (clients.md §1.3).
 */
import { HttpClientError, builderError } from './errors.ts';
import { encodeFormUrlEncoded, encodeMultipart, parseUrl, type MultipartValue } from './forms.ts';
import type { Hop } from './redirect.ts';
import type { HttpResponse } from './response.ts';

/** What a request needs from its client; the client implements it. */
export interface RequestExecutor {
  execute(hop: Hop, timeoutMs: number | undefined): Promise<HttpResponse>;
}

interface Pending {
  method: string;
  url: string;
  headers: [string, string][];
  body: Buffer | undefined;
  timeoutMs: number | undefined;
  /** First problem found while building; raised by send(). */
  builderProblem: string | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

export class HttpRequest {
  private pending: Pending | undefined;

  constructor(
    private readonly executor: RequestExecutor,
    method: string,
    url: string,
  ) {
    this.pending = { method, url, headers: [], body: undefined, timeoutMs: undefined, builderProblem: undefined };
  }

  private get state(): Pending {
    if (!this.pending) throw new HttpClientError('broken request builder');
    return this.pending;
  }

  /** Appends a header; an invalid name or value is reported by send(). */
  header(name: string, value: string): this {
    const s = this.state;
    if (!TOKEN.test(name)) s.builderProblem ??= `invalid HTTP header name ${JSON.stringify(name)}`;
    else if (BAD_VALUE.test(value)) s.builderProblem ??= `invalid HTTP header value for ${name}`;
    s.headers.push([name.toLowerCase(), value]);
    return this;
  }

  headers(pairs: Iterable<readonly [string, string]>): this {
    for (const [name, value] of pairs) this.header(name, value);
    return this;
  }

  basicAuth(username: string, password?: string): this {
    return this.header('Authorization', `Basic ${Buffer.from(`${username}:${password ?? ''}`, 'utf8').toString('base64')}`);
  }

  bearerAuth(token: string): this {
    return this.header('Authorization', `Bearer ${token}`);
  }

  /** A Buffer is kept as given (not copied): the caller must not change it afterwards. */
  body(data: string | Uint8Array): this {
    this.state.body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data);
    return this;
  }

  formUrlEncoded(pairs: Iterable<readonly [string, string]>): this {
    const s = this.state;
    s.body = Buffer.from(encodeFormUrlEncoded(pairs), 'utf8');
    if (!s.headers.some(([n]) => n === 'content-type')) s.headers.push(['content-type', 'application/x-www-form-urlencoded']);
    return this;
  }

  formMultipart(parts: Iterable<readonly [string, MultipartValue]>): this {
    const s = this.state;
    const { contentType, body } = encodeMultipart(parts);
    s.body = body;
    s.headers.push(['content-type', contentType]);
    return this;
  }

  /** Overrides the client's total timeout for this request. */
  timeout(ms: number): this {
    this.state.timeoutMs = ms;
    return this;
  }

  /** The HTTP method in upper case (for signing helpers). */
  get method(): string {
    return this.state.method;
  }

  /** The URL as given (for signing helpers). */
  get url(): string {
    return this.state.url;
  }

  /** Performs the request; the builder is empty afterwards. */
  send(): Promise<HttpResponse> {
    const s = this.state;
    this.pending = undefined;
    let url: URL;
    try {
      url = parseUrl(s.url);
    } catch (e) {
      return Promise.reject(builderError((e as Error).message));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(builderError(`URL scheme is not allowed: ${url.protocol.replace(/:$/, '')}`, url));
    }
    if (s.builderProblem) return Promise.reject(builderError(s.builderProblem, url));
    const headers = s.headers.slice();
    if (url.username || url.password) {
      // Credentials in the URL become Basic auth unless the request already authenticates.
      if (!headers.some(([n]) => n === 'authorization')) {
        const creds = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
        headers.push(['authorization', `Basic ${Buffer.from(creds, 'utf8').toString('base64')}`]);
      }
      url.username = '';
      url.password = '';
    }
    return this.executor.execute({ method: s.method, url, headers, body: s.body }, s.timeoutMs);
  }
}
