/**
 * A real HTTP server on 127.0.0.1 that records what webhook senders send and
 * answers as scripted. Used by the kumo.http tests, the webhook benchmark and
 * any end-to-end test that needs a receiving endpoint.
 *
 *   const sink = await WebhookSink.start();
 *   sink.respondWith({ status: 500, body: 'nope' });     // default for every request
 *   sink.enqueue({ status: 200 }, { drop: true });       // one-shot answers, used first, in order
 *   sink.route('/slow', { delayMs: 50 });                // per-path default
 *   ... send to `${sink.url}/hook` ...
 *   await sink.waitForRequests(2);
 *   sink.requests[0].method / .path / .headers / .body (Buffer) / .text() / .json()
 *   sink.socketCount   // distinct TCP connections seen so far (keep-alive reuse check)
 *   await sink.close();
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SinkResponse {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** Real-time wait before answering. */
  delayMs?: number;
  /**
   * `true`: destroy the socket without answering. `'mid-body'`: send the
   * headers (Content-Length claims more) and part of the body, then destroy.
   */
  drop?: boolean | 'mid-body';
  /**
   * `true`: never answer (until the sink closes). `'mid-body'`: send the
   * headers and half the body, then stall. For client timeout tests.
   */
  hang?: boolean | 'mid-body';
  /** Stream the body with chunked transfer encoding (no Content-Length). */
  chunked?: boolean;
}

/** Computes an answer from the request; may be async. */
export type Responder = (request: RecordedRequest) => SinkResponse | Promise<SinkResponse>;

export interface RecordedRequest {
  method: string;
  /** Path plus query, as on the request line. */
  path: string;
  /** Lowercase names; repeated headers are arrays (Node's IncomingMessage.headers). */
  headers: http.IncomingHttpHeaders;
  /** Names as sent, alternating with values (Node's rawHeaders). */
  rawHeaders: string[];
  body: Buffer;
  /** 1-based id of the TCP connection it arrived on. */
  socketId: number;
  text(): string;
  json(): unknown;
}

export interface WebhookSinkOptions {
  /** Default answer; `{ status: 200 }` when omitted. */
  respond?: SinkResponse | Responder;
  /** Server keep-alive timeout (ms); Node's default is 5000. */
  keepAliveTimeoutMs?: number;
}

type Answer = SinkResponse | Responder;

export class WebhookSink {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: Answer[] = [];
  private readonly routes = new Map<string, Answer>();
  private fallback: Answer;
  private readonly sockets = new Map<Socket, number>();
  private nextSocketId = 1;
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    options: WebhookSinkOptions,
  ) {
    this.fallback = options.respond ?? { status: 200 };
  }

  static async start(options: WebhookSinkOptions = {}): Promise<WebhookSink> {
    const server = http.createServer();
    if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
    const sink = new WebhookSink(server, options);
    server.on('connection', (socket: Socket) => {
      sink.sockets.set(socket, sink.nextSocketId++);
    });
    server.on('request', (req, res) => void sink.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` (no trailing slash). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Distinct TCP connections accepted since start (or reset). */
  get socketCount(): number {
    return this.nextSocketId - 1;
  }

  /** Sets the default answer for requests without a queued or routed one. */
  respondWith(answer: Answer): this {
    this.fallback = answer;
    return this;
  }

  /** Queues one-shot answers, consumed in order by the next requests (any path). */
  enqueue(...answers: Answer[]): this {
    this.queue.push(...answers);
    return this;
  }

  /** Default answer for one path (exact match on the path without query). */
  route(path: string, answer: Answer): this {
    this.routes.set(path, answer);
    return this;
  }

  /** Resolves once at least `n` requests have been recorded. */
  waitForRequests(n: number, timeoutMs = 5000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhook sink: ${this.requests.length} of ${n} requests after ${timeoutMs}ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** Forgets recorded requests, queued answers and the socket count. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.nextSocketId = 1;
    this.sockets.clear();
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away mid-request
    }
    const body = Buffer.concat(chunks);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body,
      socketId: this.sockets.get(req.socket) ?? 0,
      text: () => body.toString('utf8'),
      json: () => JSON.parse(body.toString('utf8')) as unknown,
    };
    this.requests.push(recorded);
    this.waiters = this.waiters.filter((w) => (this.requests.length >= w.n ? (w.resolve(), false) : true));

    const answer = this.queue.shift() ?? this.routes.get(recorded.path.split('?')[0]!) ?? this.fallback;
    const spec = typeof answer === 'function' ? await answer(recorded) : answer;
    if (spec.delayMs) await new Promise((r) => setTimeout(r, spec.delayMs));
    if (spec.hang === true) {
      this.stall(res);
      return;
    }
    if (spec.drop === true) {
      req.socket.destroy();
      return;
    }
    const payload = spec.body === undefined ? Buffer.alloc(0) : Buffer.from(spec.body as Uint8Array | string);
    res.statusCode = spec.status ?? 200;
    for (const [name, value] of Object.entries(spec.headers ?? {})) res.setHeader(name, value);
    if (spec.drop === 'mid-body' || spec.hang === 'mid-body') {
      res.setHeader('content-length', String(payload.length + 1000));
      res.flushHeaders();
      const half = payload.subarray(0, Math.ceil(payload.length / 2));
      if (spec.drop === 'mid-body') res.write(half, () => req.socket.destroy());
      else {
        res.write(half);
        this.stall(res);
      }
      return;
    }
    if (spec.chunked) {
      res.flushHeaders();
      res.write(payload.subarray(0, Math.ceil(payload.length / 2)));
      res.end(payload.subarray(Math.ceil(payload.length / 2)));
      return;
    }
    if (!res.hasHeader('content-length')) res.setHeader('content-length', String(payload.length));
    res.end(payload);
  }

  private stall(res: http.ServerResponse): void {
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  }
}
