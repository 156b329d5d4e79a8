/**
 * One kumo.http client: its options, its connection pool (an undici
 * Dispatcher, keep-alive by default) and the request loop with the total
 * deadline and manual redirects.
 */
import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { SystemClock, type Clock } from '../../util/clock.ts';
import { HttpClientError, HttpTimeoutError, ResponseTooLargeError, bodyError, redirectError, sendError } from './errors.ts';
import { agentDispatcherFactory, type DispatcherFactory } from './dispatcher.ts';
import { MAX_REDIRECTS, isRedirectStatus, nextHop, type Hop } from './redirect.ts';
import { HeaderMap, HttpResponse } from './response.ts';
import { HttpRequest, type RequestExecutor } from './request.ts';

export interface HttpClientOptions {
  /** Sent as User-Agent when set; otherwise no User-Agent at all. */
  userAgent?: string;
  /** Log pool connects and disconnects. */
  connectionVerbose?: boolean;
  /** Idle keep-alive lifetime; default 90 s. */
  poolIdleTimeoutMs?: number;
  /** Total per-request deadline, connect to last body byte; default 60 s. */
  timeoutMs?: number;
  acceptInvalidCerts?: boolean;
  /**
   * Follow 301/302/303/307/308 (KumoMTA's behaviour, the default). With
   * false the redirect response itself is returned, so a caller can see that
   * its POST body never reached a handler.
   */
  followRedirects?: boolean;
  /** Largest response body read; a longer one fails the read. Default DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

export interface HttpClientDeps {
  dispatcherFactory?: DispatcherFactory;
  /** Drives the deadline timers (a VirtualClock in tests). */
  clock?: Clock;
  /** Diagnostic output for connection_verbose. */
  log?: (message: string) => void;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 90_000;
/** 64 MiB: far above any webhook answer, low enough that a runaway endpoint cannot exhaust memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export class HttpClient implements RequestExecutor {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private closed = false;
  /** Requests created and not yet finished; the pool outlives close() until they are done. */
  private inFlight = 0;
  private poolClosed = false;

  constructor(
    readonly options: HttpClientOptions = {},
    deps: HttpClientDeps = {},
  ) {
    const factory = deps.dispatcherFactory ?? agentDispatcherFactory;
    const lease = factory({
      poolIdleTimeoutMs: options.poolIdleTimeoutMs ?? DEFAULT_POOL_IDLE_TIMEOUT_MS,
      acceptInvalidCerts: options.acceptInvalidCerts ?? false,
    });
    this.dispatcher = lease.dispatcher;
    this.ownsDispatcher = lease.owned;
    this.clock = deps.clock ?? new SystemClock();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (options.connectionVerbose && deps.log) this.traceConnections(deps.log);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get(url: string): HttpRequest {
    return this.request('GET', url);
  }
  post(url: string): HttpRequest {
    return this.request('POST', url);
  }
  put(url: string): HttpRequest {
    return this.request('PUT', url);
  }

  request(method: string, url: string): HttpRequest {
    if (this.closed) throw new HttpClientError('client was closed');
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.maybeClosePool();
    };
    const executor: RequestExecutor = { execute: (hop, timeoutMs) => this.execute(hop, timeoutMs, release) };
    return new HttpRequest(executor, method, url);
  }

  /** Later get/post/put raise "client was closed"; requests built before keep working. */
  close(): void {
    this.closed = true;
    this.maybeClosePool();
  }

  /** RequestExecutor for requests not made through request() (tests). */
  execute(hop: Hop, timeoutMs: number | undefined, release: () => void = () => undefined): Promise<HttpResponse> {
    return this.run(hop, timeoutMs ?? this.timeoutMs).then(
      (response) => {
        response.bodyDone.then(release, release);
        return response.response;
      },
      (err) => {
        release();
        throw err;
      },
    );
  }

  private async run(first: Hop, timeoutMs: number): Promise<{ response: HttpResponse; bodyDone: Promise<unknown> }> {
    const controller = new TimeoutSignal();
    let timedOut = false;
    const timer = this.clock.setTimer(timeoutMs, () => {
      timedOut = true;
      controller.abort(new HttpTimeoutError(timeoutMs));
    });
    const why = (err: unknown) => (timedOut ? new HttpTimeoutError(timeoutMs) : err);
    let hop = first;
    try {
      for (let redirects = 0; ; redirects++) {
        let res: Dispatcher.ResponseData;
        try {
          res = await this.dispatcher.request({
            origin: hop.url.origin,
            path: hop.url.pathname + hop.url.search,
            method: hop.method as Dispatcher.HttpMethod,
            headers: this.wireHeaders(hop.headers),
            body: hop.body,
            signal: controller,
          });
        } catch (err) {
          throw sendError(hop.url, why(err));
        }
        const follow = this.options.followRedirects !== false && isRedirectStatus(res.statusCode);
        const location = follow ? firstHeader(res.headers['location']) : undefined;
        if (location !== undefined) {
          await res.body.dump().catch(() => undefined);
          if (redirects >= MAX_REDIRECTS) throw redirectError(hop.url, `too many redirects (more than ${MAX_REDIRECTS})`);
          hop = nextHop(hop, res.statusCode, location);
          continue;
        }
        const url = hop.url;
        let arrived: Buffer | undefined;
        const body = readBody(res.body, res.headers['content-length'], this.maxResponseBytes).then(
          (bytes) => {
            timer.cancel();
            arrived = bytes;
            return bytes;
          },
          (err) => {
            timer.cancel();
            throw bodyError(url, why(err));
          },
        );
        // Waiting for the whole body (errors are kept for text()/bytes()) hands the
        // socket back to the pool before the policy's next request, so one
        // sequential sender keeps one connection.
        await body.catch(() => undefined);
        // undici marks the connection free (its 'drain') a tick after the body ends.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const response = new HttpResponse(res.statusCode, HeaderMap.fromUndici(res.headers), body, url, arrived);
        return { response, bodyDone: body };
      }
    } catch (err) {
      timer.cancel();
      throw err;
    }
  }

  /** Client defaults go in only when the request has no header of that name. */
  private wireHeaders(headers: [string, string][]): string[] {
    const flat: string[] = [];
    let hasAccept = false;
    let hasAgent = false;
    for (const [name, value] of headers) {
      if (name === 'accept') hasAccept = true;
      else if (name === 'user-agent') hasAgent = true;
      // undici writes header strings as latin1; this keeps UTF-8 values byte-exact (ASCII is the same either way).
      flat.push(name, NON_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value);
    }
    if (!hasAccept) flat.push('accept', '*/*');
    if (!hasAgent && this.options.userAgent !== undefined) flat.push('user-agent', Buffer.from(this.options.userAgent, 'utf8').toString('latin1'));
    return flat;
  }

  private maybeClosePool(): void {
    if (!this.closed || this.inFlight > 0 || this.poolClosed) return;
    this.poolClosed = true;
    if (this.ownsDispatcher) this.dispatcher.close().catch(() => undefined);
  }

  private traceConnections(log: (message: string) => void): void {
    const d = this.dispatcher as Dispatcher & { on?: (event: string, fn: (...args: unknown[]) => void) => void };
    d.on?.('connect', (origin: unknown) => log(`kumo.http: connected to ${String(origin)}`));
    d.on?.('disconnect', (origin: unknown, _targets: unknown, err: unknown) =>
      log(`kumo.http: disconnected from ${String(origin)}${err ? `: ${(err as Error).message}` : ''}`),
    );
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The abort signal of one request, for undici (which takes an EventEmitter
 * with `aborted` and `reason` as well as an AbortSignal): an AbortController
 * per request cost ~6 µs of main-thread time, this a fraction of it.
 */
class TimeoutSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The whole body, or a ResponseTooLargeError as soon as it is known to pass
 * `limit` (from Content-Length, or while streaming), so an oversized answer
 * is never held in memory and the rest is never downloaded.
 */
async function readBody(body: Dispatcher.ResponseData['body'], contentLength: string | string[] | undefined, limit: number): Promise<Buffer> {
  // Destroying the stream aborts the request; nobody else listens for that error.
  const discard = () => body.on('error', () => undefined).destroy();
  const declared = Number(firstHeader(contentLength));
  if (Number.isFinite(declared) && declared > limit) {
    discard();
    throw new ResponseTooLargeError(limit, declared);
  }
  // Stream events rather than `for await`: an async iterator costs a promise per chunk.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (err: unknown, value?: Buffer) => {
      if (done) return;
      done = true;
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err === undefined) resolve(value!);
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        finish(new ResponseTooLargeError(limit));
        discard();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    const onError = (err: Error) => finish(err);
    // Destroyed without an error (aborted elsewhere): what `for await` reports as a premature close.
    const onClose = () => finish(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
