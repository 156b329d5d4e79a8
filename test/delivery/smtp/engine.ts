/** An engine delivering over SMTP to MockMx servers on 127.0.0.1, on a VirtualClock. */
import { afterEach } from 'vitest';
import { RawMx } from './raw-mx.ts';
import { Message } from '../../../src/message/message.ts';
import { parseQueueConfig } from '../../../src/queue/queue-config.ts';
import type { SmtpServices } from '../../../src/delivery/smtp/ports.ts';
import type { JsonObject, JsonValue } from '../../../src/util/json.ts';
import { MockMx, type MockMxOptions } from '../../../src/testing/mock-mx.ts';
import { makeTestEngine, spoolIdAt, until, type TestEngine } from '../../helpers/engine.ts';
import type { RecordEvent } from '../../../src/records/types.ts';
import { EgressResolver } from '../../../src/egress/resolve.ts';
import { parseEgressPool } from '../../../src/egress/pool.ts';
import { parseEgressSource } from '../../../src/egress/source.ts';
import { VirtualClock } from '../../../src/util/clock.ts';

export interface SmtpEngineOptions {
  /** The `protocol.smtp` table; default `{ mx_list = { <first mx> } }`. */
  smtp?: JsonObject;
  path?: JsonObject;
  queue?: JsonObject;
  services?: Partial<SmtpServices>;
  /** `make_egress_source` fields of a source `src` that the queue's pool `pool` holds (§2.10). */
  source?: JsonObject;
}

/** Path defaults for local MXes: loopback allowed, self-signed certificates accepted. */
export const LOCAL_PATH: JsonObject = { prohibited_hosts: [], enable_tls: 'OpportunisticInsecure', connection_limit: 1 };

export async function smtpEngine(mx: MockMx | null, opts: SmtpEngineOptions = {}): Promise<TestEngine> {
  const smtp = opts.smtp ?? { mx_list: [mx!.address] };
  const clock = new VirtualClock();
  const source = opts.source;
  const egress = source
    ? new EgressResolver(clock, { pool: async (name) => parseEgressPool({ name, entries: [{ name: 'src' }] }), source: async (name) => parseEgressSource({ name, ...source }) })
    : undefined;
  return makeTestEngine({
    clock,
    queueConfig: () => parseQueueConfig({ retry_interval: '1m', protocol: { smtp }, ...(source ? { egress_pool: 'pool' } : {}), ...(opts.queue ?? {}) }),
    pathConfig: { ...LOCAL_PATH, ...(opts.path ?? {}) },
    manager: { smtp: opts.services ?? {}, ...(egress ? { egress } : {}) },
  });
}

export async function startMx(options: MockMxOptions = {}): Promise<MockMx> {
  return new MockMx(options).start();
}

let n = 0;
export function mail(recipients: string[], opts: { body?: string | Uint8Array; sender?: string; meta?: JsonObject; clock?: { now(): number } } = {}): Message {
  const body = opts.body ?? `Subject: message ${++n}\r\n\r\nbody ${n}\r\n`;
  return new Message({
    id: opts.clock ? spoolIdAt(opts.clock.now()) : undefined,
    sender: opts.sender ?? 'sender@example.com',
    recipients,
    meta: opts.meta ?? {},
    data: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  });
}

/** The JSON-ish view tests assert on. */
export function view(ev: RecordEvent): Record<string, JsonValue | undefined> {
  return {
    type: ev.type,
    recipients: (ev.recipients ?? ev.message?.recipients ?? []) as string[],
    code: ev.response.code,
    content: ev.response.content,
    command: ev.response.command,
    site: ev.site,
    peer: (ev.peerAddress ?? null) as JsonValue,
    protocol: ev.deliveryProtocol ?? null,
  };
}

export async function waitRecords(e: TestEngine, count: number, what = 'records'): Promise<RecordEvent[]> {
  await until(() => e.records.events.filter((r) => r.type !== 'Delayed').length >= count, what);
  return e.records.events.filter((r) => r.type !== 'Delayed');
}

/**
 * Per-test MXes and engine, all stopped after each test:
 * `const f = smtpFixtures(); const m = await f.mx(); const e = await f.engine(m);`.
 * Starting another engine closes the previous one.
 */
export function smtpFixtures() {
  let engine: TestEngine | null = null;
  let mxs: MockMx[] = [];
  let raws: RawMx[] = [];
  const closeEngine = async () => {
    const e = engine;
    engine = null;
    await e?.close();
  };
  afterEach(async () => {
    await closeEngine();
    for (const m of mxs) await m.stop();
    for (const r of raws) await r.stop();
    mxs = [];
    raws = [];
  });
  return {
    async mx(options: MockMxOptions = {}): Promise<MockMx> {
      const m = await startMx(options);
      mxs.push(m);
      return m;
    },
    async raw(): Promise<RawMx> {
      const r = await new RawMx().start();
      raws.push(r);
      return r;
    },
    async engine(mx: MockMx | null, opts: SmtpEngineOptions = {}): Promise<TestEngine> {
      await closeEngine();
      engine = await smtpEngine(mx, opts);
      return engine;
    },
    /** A scripted server and an engine delivering to it in plaintext. */
    async scripted(path: JsonObject = {}, services: Partial<SmtpServices> = {}): Promise<{ mx: RawMx; e: TestEngine }> {
      const mx = await this.raw();
      const e = await this.engine(null, { smtp: { mx_list: [mx.address] }, path: { enable_tls: 'Disabled', ...path }, services });
      return { mx, e };
    },
    closeEngine,
  };
}
