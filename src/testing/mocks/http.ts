/**
 * Mocked HTTP endpoints for policy tests, plugged in at the undici dispatcher
 * so requests run through the same kumo.http client code as production.
 * Each endpoint records what it received and answers from a script: status,
 * headers, body, a delay on the test's virtual clock, or a connection error.
 */
import { Dispatcher, MockAgent } from 'undici';
import type { Clock } from '../../util/clock.ts';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  delayMs?: number;
  /** Fail the request like a network error with this text (e.g. "connection refused"). */
  error?: string;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Virtual time the request was sent. */
  atMs: number;
}

export class MockEndpoint {
  readonly requests: RecordedRequest[] = [];
  private readonly once: ScriptedReply[] = [];
  private always: ScriptedReply = { status: 200, body: 'ok' };

  constructor(readonly urlPrefix: string) {}

  matches(url: string): boolean {
    return url.startsWith(this.urlPrefix);
  }

  /** The reply for every request not covered by `respondOnce`. */
  respond(reply: ScriptedReply): void {
    this.always = reply;
  }

  /** Queues replies used in order before falling back to `respond`'s. */
  respondOnce(...replies: ScriptedReply[]): void {
    this.once.push(...replies);
  }

  nextReply(): ScriptedReply {
    return this.once.shift() ?? this.always;
  }
}

type DispatchOptions = Dispatcher.DispatchOptions;
type Handler = Dispatcher.DispatchHandler & { onError?: (err: Error) => void; onResponseError?: (c: unknown, err: Error) => void };

function headersOf(raw: DispatchOptions['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = String(raw[i]).toLowerCase();
      out[k] = out[k] !== undefined ? `${out[k]}, ${String(raw[i + 1])}` : String(raw[i + 1]);
    }
    return out;
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return new Uint8Array(body);
  throw new Error('kumo-lua test: streamed request bodies are not supported by mocked endpoints');
}

/** The dispatcher every kumo.http client in a test environment uses. */
export class MockHttp extends Dispatcher {
  readonly endpoints: MockEndpoint[] = [];
  /** Requests that matched no endpoint (they fail like a refused connection). */
  readonly unmatched: RecordedRequest[] = [];
  private readonly agent = new MockAgent({ connections: 1 });

  constructor(private readonly clock: Clock) {
    super();
    this.agent.disableNetConnect();
  }

  endpoint(urlPrefix: string): MockEndpoint {
    let ep = this.endpoints.find((e) => e.urlPrefix === urlPrefix);
    if (!ep) {
      ep = new MockEndpoint(urlPrefix);
      this.endpoints.push(ep);
    }
    return ep;
  }

  override dispatch(opts: DispatchOptions, handler: Handler): boolean {
    const origin = String(opts.origin ?? '');
    const url = new URL(opts.path, origin).toString();
    const request: RecordedRequest = { method: opts.method, url, headers: headersOf(opts.headers), body: bodyBytes(opts.body), atMs: this.clock.now() };
    // Longest prefix wins, so a specific path can be scripted apart from its host.
    const ep = this.endpoints.filter((e) => e.matches(url)).sort((a, b) => b.urlPrefix.length - a.urlPrefix.length)[0];
    if (!ep) {
      this.unmatched.push(request);
      fail(handler, new Error(`kumo-lua test: no mocked endpoint for ${opts.method} ${url}; declare one with t.http('${new URL(url).origin}/...')`));
      return true;
    }
    ep.requests.push(request);
    const reply = ep.nextReply();
    const answer = () => {
      if (reply.error !== undefined) return fail(handler, Object.assign(new Error(reply.error), { code: 'ECONNREFUSED' }));
      this.agent
        .get(new URL(origin).origin)
        .intercept({ path: opts.path, method: opts.method })
        .reply(reply.status ?? 200, reply.body ?? '', { headers: reply.headers ?? {} });
      this.agent.dispatch(opts, handler);
    };
    if (reply.delayMs && reply.delayMs > 0) this.clock.setTimer(reply.delayMs, answer);
    else answer();
    return true;
  }

  override async close(): Promise<void> {
    await this.agent.close();
  }

  override async destroy(): Promise<void> {
    await this.agent.destroy();
  }
}

function fail(handler: Handler, err: Error): void {
  queueMicrotask(() => {
    if (typeof handler.onError === 'function') handler.onError(err);
    else handler.onResponseError?.(null, err);
  });
}
