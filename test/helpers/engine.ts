import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { Message } from '../../src/message/message.ts';
import type { RecordEvent, RecordSink, RecordType } from '../../src/records/types.ts';
import { SqliteSpool, type SpoolOptions } from '../../src/spool/sqlite-spool.ts';
import { VirtualClock, settle, type Clock } from '../../src/util/clock.ts';
import type { ConnectionFactory, ConnectOptions, DeliveryConnection, SendOutcome } from '../../src/delivery/types.ts';
import { QueueManager, type QueueManagerOptions } from '../../src/queue/manager.ts';
import { parseQueueConfig, type QueueConfig } from '../../src/queue/queue-config.ts';
import { parseEgressPathConfig } from '../../src/queue/egress-path-config.ts';
import type { JsonObject } from '../../src/util/json.ts';

/** Collects every RecordEvent the engine emits. */
export class RecordingSink implements RecordSink {
  readonly events: RecordEvent[] = [];
  constructor(private readonly clock?: Clock) {}
  async log(event: RecordEvent): Promise<void> {
    // Stamp the virtual time of logging so tests can check retry spacing.
    if (this.clock && event.timestampMs === undefined) event.timestampMs = this.clock.now();
    if (event.numAttempts === undefined && event.message) event.numAttempts = event.message.numAttempts;
    this.events.push(event);
  }
  of(type: RecordType): RecordEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}

export interface SinkRequest {
  path: string;
  body: unknown;
}

/**
 * A real HTTP server on 127.0.0.1 that records JSON POST bodies. `respond`
 * picks the status for each request (default 200).
 */
export class HttpSink {
  readonly requests: SinkRequest[] = [];
  respond: (req: SinkRequest) => number = () => 200;
  /** Real-time delay before answering, to keep deliveries in flight (crash tests). */
  delayMs = 0;
  private server: Server;
  url = '';

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const entry = { path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
        this.requests.push(entry);
        const status = this.respond(entry);
        const answer = () => {
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(status < 300 ? 'accepted' : `status ${status}`);
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    this.server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Ids of every message received, in arrival order. */
  ids(): string[] {
    return this.requests.flatMap((r) => (r.body as { id: string }[]).map((m) => m.id));
  }
}

/**
 * A ConnectionFactory whose connections POST each batch as a JSON array to
 * an HttpSink: 2xx ⇒ delivered, other statuses ⇒ kumo.reject(status, text),
 * a transport error ⇒ an escaped error. Counts constructor and close calls.
 */
export class HttpConnectionFactory implements ConnectionFactory {
  connects: { constructorName: string; domain: string; tenant: string | null; campaign: string | null; options?: ConnectOptions }[] = [];
  closes = 0;
  failConstructor: string | null = null;
  throwInSend: string | null = null;
  batchSizes: number[] = [];

  // Global fetch collapses to ~300 req/s at concurrency 8 here; undici.request with an Agent does ~4k.
  private readonly agent = new Agent({ connections: 128 });

  constructor(private readonly url: () => string) {}

  async connect(constructorName: string, domain: string, tenant: string | null, campaign: string | null, options?: ConnectOptions): Promise<DeliveryConnection> {
    this.connects.push({ constructorName, domain, tenant, campaign, options });
    if (this.failConstructor) throw new Error(this.failConstructor);
    const send = async (batch: Message[]): Promise<SendOutcome> => {
      this.batchSizes.push(batch.length);
      if (this.throwInSend) return { kind: 'error', text: `sender:send method failed: ${this.throwInSend}` };
      const body = JSON.stringify(batch.map((m) => ({ id: m.id, recipient: m.recipients[0], attempts: m.numAttempts, data: Buffer.from(m.getData()).toString('utf8') })));
      try {
        const res = await request(`${this.url()}/${constructorName}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: this.agent });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'delivered', content: `${res.statusCode} ${text}` };
        return { kind: 'rejected', code: res.statusCode, text };
      } catch (err) {
        return { kind: 'error', text: `sender:send method failed: ${(err as Error).message}` };
      }
    };
    return { send, close: async () => void this.closes++ };
  }
}

export function tempDir(prefix = 'kumo-engine-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let seq = 0;
let tick = 0;
const node = randomBytes(6).toString('hex');

/**
 * A UUID v1 spool id for exactly `ms`. (uuid's v1 keeps the largest time it
 * has seen, so ids for an earlier VirtualClock time would carry a later one.)
 */
export function spoolIdAt(ms: number): string {
  tick = (tick + 1) % 10_000;
  const ts = (BigInt(ms) + 12_219_292_800_000n) * 10_000n + BigInt(tick);
  const hex = (v: bigint, n: number) => v.toString(16).padStart(n, '0');
  const low = ts & 0xffffffffn;
  const mid = (ts >> 32n) & 0xffffn;
  const high = ((ts >> 48n) & 0x0fffn) | 0x1000n;
  return `${hex(low, 8)}${hex(mid, 4)}${hex(high, 4)}${hex(0x8000n | BigInt(tick & 0x3fff), 4)}${node}`;
}

export function makeMessage(recipient: string, meta: JsonObject = {}, clock?: Clock): Message {
  return new Message({
    id: clock ? spoolIdAt(clock.now()) : undefined,
    sender: 'sender@example.com',
    recipients: [recipient],
    meta,
    data: new TextEncoder().encode(`Subject: test ${++seq}\r\n\r\nbody ${seq}\r\n`),
  });
}

/** A custom_lua queue config built from a make_queue_config-style table. */
export function luaQueueConfig(custom: JsonObject = {}, extra: JsonObject = {}): QueueConfig {
  return parseQueueConfig({ protocol: { custom_lua: { constructor: 'make.webhook', ...custom } }, ...extra });
}

export interface TestEngine {
  clock: VirtualClock;
  spool: SqliteSpool;
  records: RecordingSink;
  sink: HttpSink;
  factory: HttpConnectionFactory;
  manager: QueueManager;
  dir: { path: string; cleanup(): void };
  queueConfigCalls: string[][];
  pathConfigCalls: string[][];
  close(): Promise<void>;
}

export interface TestEngineOptions {
  queueConfig?: (domain: string) => QueueConfig;
  pathConfig?: JsonObject;
  manager?: Partial<QueueManagerOptions>;
  dir?: { path: string; cleanup(): void };
  clock?: VirtualClock;
  /** Extra spool options (e.g. the `beforeWrite` fault seam). */
  spool?: Omit<SpoolOptions, 'path'>;
}

/** A manager on a real temp-dir spool, a real HTTP sink and a VirtualClock. */
export async function makeTestEngine(opts: TestEngineOptions = {}): Promise<TestEngine> {
  const dir = opts.dir ?? tempDir();
  const clock = opts.clock ?? new VirtualClock();
  const spool = new SqliteSpool({ path: dir.path, ...opts.spool });
  const records = new RecordingSink(clock);
  const sink = await new HttpSink().start();
  const factory = new HttpConnectionFactory(() => sink.url);
  const queueConfigCalls: string[][] = [];
  const pathConfigCalls: string[][] = [];
  const manager = new QueueManager({
    clock, spool, records, connections: factory,
    resolveQueueConfig: async (domain, tenant, campaign, routing) => {
      queueConfigCalls.push([domain, String(tenant), String(campaign), String(routing)]);
      return opts.queueConfig ? opts.queueConfig(domain) : luaQueueConfig();
    },
    resolveEgressPathConfig: async (routing, source, site) => {
      pathConfigCalls.push([routing, source, site]);
      return parseEgressPathConfig(opts.pathConfig ?? {});
    },
    random: () => 0.5,
    hooks: { diagnostic: () => {} },
    ...opts.manager,
  });
  engines.set(clock, manager);
  return {
    clock, spool, records, sink, factory, manager, dir, queueConfigCalls, pathConfigCalls,
    async close() {
      await manager.shutdown();
      spool.close();
      await sink.stop();
      if (!opts.dir) dir.cleanup();
    },
  };
}

/** Lets promise chains, spool commits and local HTTP round trips finish (bounded). */
export async function until(cond: () => boolean, what = 'condition', maxMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > maxMs) throw new Error(`timed out waiting for ${what}`);
    await settle();
    await new Promise((r) => setTimeout(r, 1));
  }
}

const engines = new WeakMap<VirtualClock, QueueManager>();

/** True when no dispatcher is mid-send, nothing is being promoted and the spool has committed. */
export function engineIdle(manager: QueueManager): boolean {
  if (manager.scheduler.busy || manager.spool.pendingWrites > 0 || manager.maildirTasks.pending > 0) return false;
  for (const rq of manager.ready.queues.values()) {
    for (const d of rq.dispatchers) if (d.phase !== 'Idle' && d.phase !== 'AccumulatingBatch') return false;
  }
  return true;
}

/**
 * Advances virtual time in steps; after each step waits (in real time,
 * bounded) until the engine driven by this clock is idle, so real HTTP round
 * trips finish before virtual time moves on.
 */
export async function advance(clock: VirtualClock, ms: number, stepMs = ms): Promise<void> {
  const manager = engines.get(clock);
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done), 20);
    await quiesce();
    if (manager) {
      await until(() => engineIdle(manager), 'engine idle');
      await quiesce(2);
      await until(() => engineIdle(manager), 'engine idle');
    }
  }
}

/** Waits for a few real-time turns so HTTP round trips and spool commits complete. */
export async function quiesce(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await settle();
    await new Promise((r) => setTimeout(r, 2));
  }
}
