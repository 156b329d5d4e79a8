/**
 * What `req:send()` returns. The client reads the body before send()
 * returns (so the socket goes back to the pool even when the policy never
 * reads it); text() or bytes() hand it over once, and a body that failed to
 * arrive raises there, as upstream does.
 */
import { canonicalReason } from './reasons.ts';
import { HttpClientError } from './errors.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Response headers: lowercase names in order of first appearance, repeated names adjacent. */
export class HeaderMap {
  private list: ReadonlyArray<readonly [string, Uint8Array]> | undefined;
  private source: Record<string, string | string[] | undefined> | undefined;

  constructor(entries: ReadonlyArray<readonly [string, Uint8Array]>) {
    this.list = entries;
  }

  /** (name, value) pairs in order; from undici's headers they are made on first use (most responses are never asked). */
  get entries(): ReadonlyArray<readonly [string, Uint8Array]> {
    if (this.list === undefined) {
      const entries: [string, Uint8Array][] = [];
      for (const [name, value] of Object.entries(this.source!)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) entries.push([name.toLowerCase(), new Uint8Array(Buffer.from(v, 'latin1'))]);
      }
      this.list = entries;
      this.source = undefined;
    }
    return this.list;
  }

  /** First value for `name` (case-insensitive), or undefined; an invalid name is just absent. */
  get(name: string): Uint8Array | undefined {
    if (!TOKEN.test(name)) return undefined;
    const lower = name.toLowerCase();
    for (const [k, v] of this.entries) if (k === lower) return v;
    return undefined;
  }

  getText(name: string): string | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : Buffer.from(v).toString('latin1');
  }

  /** From undici's parsed headers (lowercase keys, latin1 strings, arrays for repeats). */
  static fromUndici(headers: Record<string, string | string[] | undefined>): HeaderMap {
    const map = new HeaderMap([]);
    map.list = undefined;
    map.source = headers;
    return map;
  }
}

/** Stateless between calls (decode without `stream`), so one serves every response. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

export class HttpResponse {
  private consumed = false;

  constructor(
    readonly status: number,
    private readonly headerMap: HeaderMap,
    /** Settles when the body has been read completely (or failed). */
    private readonly body: Promise<Buffer>,
    readonly url: URL,
    /** The body, when the client already holds all of it (`body` has resolved to it). */
    private readonly arrived?: Buffer,
  ) {
    // A failure nobody asks about must not become an unhandled rejection.
    body.catch(() => undefined);
  }

  get reason(): string | undefined {
    return canonicalReason(this.status);
  }

  isInformational = () => this.status >= 100 && this.status < 200;
  isSuccess = () => this.status >= 200 && this.status < 300;
  isRedirection = () => this.status >= 300 && this.status < 400;
  isClientError = () => this.status >= 400 && this.status < 500;
  isServerError = () => this.status >= 500 && this.status < 600;

  headers(): HeaderMap {
    this.assertUnconsumed();
    return this.headerMap;
  }

  contentLength(): number | undefined {
    this.assertUnconsumed();
    const text = this.headerMap.getText('content-length');
    if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
    return Number(text.trim());
  }

  /** The raw body; consumes the response. */
  async bytes(): Promise<Buffer> {
    this.assertUnconsumed();
    this.consumed = true;
    return this.body;
  }

  /** The body decoded as lossy UTF-8 (no charset handling, BOM kept); consumes the response. */
  async text(): Promise<string> {
    const bytes = await this.bytes();
    return UTF8.decode(bytes);
  }

  /**
   * text() without waiting, when the whole body has already arrived; consumes
   * the response. undefined (and nothing consumed) when text() would have to
   * wait or would fail, so the caller falls back to text().
   */
  textNow(): string | undefined {
    if (this.consumed || this.arrived === undefined) return undefined;
    this.consumed = true;
    return UTF8.decode(this.arrived);
  }

  private assertUnconsumed(): void {
    if (this.consumed) throw new HttpClientError('broken response wrapper');
  }
}
