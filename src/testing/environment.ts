/**
 * One test's world: a fresh kumo-lua instance (Lua state, engine, spool in a
 * temp directory) on a virtual clock, with every outbound client pointed at
 * mocks, and the `kumo-lua.testing.host` module that test code drives it with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kumod } from '../daemon/kumod.ts';
import { VirtualClock } from '../util/clock.ts';
import { MemoryLog } from '../kumo/diagnostics.ts';
import { ModuleTable } from '../kumo/module-table.ts';
import { lua } from '../lua/fengari.ts';
import { keyBytes } from '../lua/strings.ts';
import { registerHostFunctions, type HostState } from './host-module.ts';

export interface TestEnvironmentOptions {
  luaPaths?: readonly string[];
  /** Where print() output of the tests goes. */
  print?: (line: string) => void;
}

export class TestEnvironment implements HostState {
  readonly clock = new VirtualClock();
  readonly log = new MemoryLog();
  readonly tests: { name: string; ref: number }[] = [];
  readonly kumod: Kumod;
  readonly tempDir: string;
  started = false;

  private constructor(
    readonly testFile: string,
    options: TestEnvironmentOptions,
  ) {
    this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-test-'));
    this.kumod = Kumod.create({
      runMode: 'serve',
      luaPaths: options.luaPaths,
      policyFile: testFile,
      clock: this.clock,
      log: this.log,
      print: options.print ?? ((line) => process.stdout.write(`    | ${line}\n`)),
    });
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
    const L = runtime.L;
    lua.lua_getglobal(L, keyBytes('package'));
    lua.lua_getfield(L, -1, keyBytes('loaded'));
    runtime.pushRef(L, host.ref);
    lua.lua_setfield(L, -2, keyBytes('kumo-lua.testing.host'));
    lua.lua_pop(L, 2);
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
    await this.ctx.runtime.callRef(`load:test ${test.name}`, test.ref, () => 0, () => undefined);
  }

  /** Starts the policy like the daemon does: pre_init, init, then the engine. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.kumod.initialize();
  }

  async dispose(): Promise<void> {
    await this.kumod.shutdown().catch(() => undefined);
    fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}
