/**
 * One test's world: a fresh kumo-lua instance (Lua state, engine, spool and
 * logs in a temp directory) on a virtual clock, with every outbound client
 * pointed at mocks and every listener bound to 127.0.0.1:0, plus the
 * `kumo-lua.testing.host` module that test code drives it with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kumod } from '../daemon/kumod.ts';
import { VirtualClock, settle } from '../util/clock.ts';
import { MemoryLog } from '../kumo/diagnostics.ts';
import { ModuleTable } from '../kumo/module-table.ts';
import { HTTP_DISPATCHER_FACTORY, sharedDispatcher } from '../clients/http/dispatcher.ts';
import { KAFKA_PRODUCER_FACTORY } from '../clients/kafka/producer.ts';
import { AMQP_CONNECTOR, AMQP_PUBLISHER_POOL } from '../kumo/amqp.ts';
import { AmqpPublisherPool } from '../clients/amqp/pool.ts';
import { LISTEN_ADDRESS_REWRITE } from '../server/ports.ts';
import { MockHttp } from './mocks/http.ts';
import { MockKafka } from './mocks/kafka.ts';
import { MockAmqp } from './mocks/amqp.ts';
import { RecordRecorder } from './record-recorder.ts';
import { registerHostFunctions, type HostState } from './host-module.ts';
import { MockMxSet } from './mock-mx-set.ts';
import { SMTP_SERVICES } from '../delivery/smtp/services.ts';

export interface TestEnvironmentOptions {
  luaPaths?: readonly string[];
  /** Where print() output of the tests goes. */
  print?: (line: string) => void;
}

const STUCK_AFTER_REAL_MS = 15_000;
const MAX_AUTO_ADVANCE_MS = 30 * 86_400_000;

function safeName(p: string): string {
  return p.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '') || 'dir';
}

export class TestEnvironment implements HostState {
  readonly clock = new VirtualClock();
  readonly log = new MemoryLog();
  readonly tests: { name: string; ref: number }[] = [];
  readonly kumod: Kumod;
  readonly tempDir: string;
  readonly http: MockHttp;
  readonly kafka = new MockKafka(this.clock);
  readonly amqp = new MockAmqp(this.clock);
  readonly mxs = new MockMxSet();
  readonly recorder: RecordRecorder;
  started = false;

  private constructor(
    readonly testFile: string,
    options: TestEnvironmentOptions,
  ) {
    this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-test-'));
    const inTemp = (kind: string, p: string) => path.join(this.tempDir, kind, safeName(p));
    this.kumod = Kumod.create({
      runMode: 'serve',
      luaPaths: options.luaPaths,
      policyFile: testFile,
      clock: this.clock,
      log: this.log,
      print: options.print ?? ((line) => process.stdout.write(`    | ${line}\n`)),
      // maildir_path may be a template: it is kept whole under the temp dir.
      statePath: (kind, p) => (kind === 'maildir' ? path.join(this.tempDir, kind, p) : inTemp(kind, p)),
    });
    const ctx = this.kumod.ctx;
    this.http = new MockHttp(this.clock);
    ctx.provide(HTTP_DISPATCHER_FACTORY, sharedDispatcher(this.http));
    ctx.provide(KAFKA_PRODUCER_FACTORY, this.kafka.factory);
    ctx.provide(AMQP_CONNECTOR, this.amqp.connector);
    ctx.provide(AMQP_PUBLISHER_POOL, new AmqpPublisherPool({ connector: this.amqp.connector, clock: this.clock }));
    ctx.provide(SMTP_SERVICES, this.mxs.services());
    ctx.provide(LISTEN_ADDRESS_REWRITE, (listen) => ({ host: '127.0.0.1', port: 0, text: `127.0.0.1:0 (policy asked for ${listen.text})` }));
    this.recorder = new RecordRecorder(this.kumod.services.logging.builder);
    this.kumod.services.records.add(this.recorder);
  }

  static async create(testFile: string, options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
    const env = new TestEnvironment(path.resolve(testFile), options);
    env.installHostModule();
    return env;
  }

  get ctx() {
    return this.kumod.ctx;
  }

  private installHostModule(): void {
    const runtime = this.ctx.runtime;
    const host = ModuleTable.create(runtime, 'kumo-lua.testing.host');
    registerHostFunctions(host, this);
    host.installAs('kumo-lua.testing.host');
  }

  /** Runs the test file's top level, which declares tests (and usually loads the policy). */
  async loadTestFile(): Promise<void> {
    await this.ctx.runtime.runFile(this.testFile, 'load:test');
  }

  testNames(): string[] {
    return this.tests.map((t) => t.name);
  }

  async runTest(index: number): Promise<void> {
    const test = this.tests[index];
    if (!test) throw new Error(`no test #${index} in ${this.testFile}`);
    await this.withAutoAdvance(this.ctx.runtime.callRef(`load:test ${test.name}`, test.ref, () => 0, () => undefined));
  }

  /** While > 0, the test itself is moving time (t.advance, t.run_until_idle). */
  manualTime = 0;

  /**
   * Runs `work` while keeping virtual time flowing: whenever the test is
   * blocked and everything in flight has settled, time jumps to the next
   * timer, so a test that waits on a 10s HTTP timeout or a retry finishes at
   * once. A test blocked with no timer left for a long real time is stuck.
   */
  private async withAutoAdvance<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    // Awaited below; until then a rejection must not count as unhandled.
    finished.catch(() => undefined);
    const startedAt = this.clock.now();
    let idleSince = Date.now();
    while (!done) {
      for (let i = 0; i < 10 && !done; i++) await settle();
      if (done) break;
      const next = this.clock.nextTimerAt();
      if (this.manualTime > 0 || next === undefined) {
        if (this.manualTime === 0 && Date.now() - idleSince > STUCK_AFTER_REAL_MS) {
          throw new Error(`the test has been waiting for ${STUCK_AFTER_REAL_MS / 1000}s with no timer pending: is it waiting for something that never happens?`);
        }
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      if (next - startedAt > MAX_AUTO_ADVANCE_MS) {
        throw new Error(`the test kept waiting past ${MAX_AUTO_ADVANCE_MS / 86_400_000} days of virtual time`);
      }
      idleSince = Date.now();
      await this.waitForSmtpIo();
      await this.clock.advance(next - this.clock.now());
    }
    return finished;
  }

  /** Starts the policy like the daemon does: pre_init, init, then the engine. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.kumod.initialize();
  }

  /** Messages the engine still holds: spooled, scheduled or ready (zero means idle). */
  async pendingMessages(): Promise<number> {
    const m = this.kumod.services.manager;
    if (!m) return 0;
    await m.spool.flush();
    const ready = m.admin.readyQueues().reduce((n, q) => n + q.readyCount, 0);
    return m.spool.count() + m.admin.scheduledCountTotal() + ready;
  }

  /**
   * Moves virtual time forward until the engine holds no message, or `maxMs`
   * passes. Returns whether it became idle.
   */
  async runUntilIdle(maxMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxMs;
    for (let guard = 0; guard < 100_000; guard++) {
      await this.clock.advance(0);
      if ((await this.pendingMessages()) === 0) return true;
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > deadline) break;
      await this.waitForSmtpIo();
      await this.clock.advance(next - this.clock.now());
    }
    await this.clock.advance(Math.max(0, deadline - this.clock.now()));
    return (await this.pendingMessages()) === 0;
  }

  /** t.advance: moves virtual time timer by timer, letting SMTP exchanges finish in between. */
  async advanceTime(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      await this.waitForSmtpIo();
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > target) break;
      await this.clock.advance(Math.max(0, next - this.clock.now()));
    }
    await this.clock.advance(Math.max(0, target - this.clock.now()));
    await this.waitForSmtpIo();
  }

  /**
   * SMTP sessions talk to real sockets: before virtual time jumps (and
   * fires their reply timeouts) let an exchange in progress finish, for up
   * to 2 s of real time (a mock told never to answer still times out).
   */
  private async waitForSmtpIo(): Promise<void> {
    const manager = this.kumod.services.manager;
    if (!manager) return;
    const busy = () => [...manager.ready.queues.values()].some((rq) => rq.protocol.kind === 'smtp' && [...rq.dispatchers].some((d) => d.phase !== 'Idle' && d.phase !== 'MessageRateThrottled' && d.phase !== 'ConnectionRateThrottled'));
    const until = Date.now() + 2000;
    while (busy() && Date.now() < until) {
      await settle();
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  async dispose(): Promise<void> {
    await this.kumod.shutdown().catch(() => undefined);
    await this.mxs.stopAll();
    await this.http.close().catch(() => undefined);
    await settle();
    fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}
