/**
 * The policy test harness from TypeScript (`import { createPolicyTest } from
 * 'kumo-lua/testing'`): the same environment `kumo-lua test` gives Lua
 * tests — a fresh instance on a virtual clock with mocked endpoints.
 */
import path from 'node:path';
import { parseDuration } from '../util/duration.ts';
import { loadPolicyFile } from '../policy/create.ts';
import { toJson } from '../lua/marshal.ts';
import type { JsonObject, JsonValue } from '../util/json.ts';
import { TestEnvironment, type TestEnvironmentOptions } from './environment.ts';
import { injectMessages, logSyntheticRecord } from './host-actions.ts';
import type { MockEndpoint } from './mocks/http.ts';
import type { MockMx, MockMxOptions } from './mock-mx.ts';
import { routeMessage } from './route.ts';
import { listenerDecision } from './listener-decision.ts';
import { checkDkim, type DkimCheck } from './dkim-check.ts';

export { runTestFiles, findTestFiles, type RunSummary, type TestResult } from './runner.ts';
export type { MockEndpoint, ScriptedReply, RecordedRequest } from './mocks/http.ts';
export type { PublishedKafkaMessage } from './mocks/kafka.ts';
export type { PublishedAmqpMessage } from './mocks/amqp.ts';
export { MockMx, type MockMxOptions, type MxReply, type MxTransaction } from './mock-mx.ts';

export interface PolicyTestOptions extends TestEnvironmentOptions {
  /** The policy file to load (its top level runs; call start() for pre_init/init). */
  policy: string;
}

type Duration = number | string;
const ms = (d: Duration) => (typeof d === 'number' ? d : parseDuration(d));

export class PolicyTest {
  private constructor(readonly env: TestEnvironment) {}

  static async create(options: PolicyTestOptions): Promise<PolicyTest> {
    const env = await TestEnvironment.create(path.resolve(options.policy), options);
    await loadPolicyFile(env.ctx, path.resolve(options.policy));
    return new PolicyTest(env);
  }

  /** Runs pre_init and init and starts the engine (inject/logRecord do this on first use). */
  start(): Promise<void> {
    return this.env.start();
  }

  /** A mocked HTTP endpoint: every URL starting with `urlPrefix`. */
  http(urlPrefix: string): MockEndpoint {
    return this.env.http.endpoint(urlPrefix);
  }

  /**
   * A mock MX answering for `name` (MX and address lookups resolve to it):
   * script it with onMail / onRcpt / onData, read `transactions`.
   */
  smtp(name: string, options: MockMxOptions = {}): Promise<MockMx> {
    return this.env.mxs.add(name, options);
  }

  get kafka() {
    return this.env.kafka;
  }

  get amqp() {
    return this.env.amqp;
  }

  async inject(request: JsonObject): Promise<JsonObject> {
    await this.env.start();
    return injectMessages(this.env, request);
  }

  async logRecord(spec: JsonObject): Promise<string> {
    await this.env.start();
    return logSyntheticRecord(this.env, spec);
  }

  /** Moves virtual time: milliseconds, or a duration string like '5m'. */
  advance(d: Duration): Promise<void> {
    return this.env.advanceTime(ms(d));
  }

  runUntilIdle(max: Duration = '7d'): Promise<boolean> {
    return this.env.runUntilIdle(ms(max));
  }

  /** Records logged so far (all types, or one), as KumoMTA's JSON. */
  records(type?: string): JsonObject[] {
    return this.env.recorder.ofType(type);
  }

  /** What the policy decides for a message: queue, tenant, campaign, queue config, egress pool, sources and path configs (see docs/testing.md). Does not run init: call start() first when init sets up what the decisions need. */
  route(spec: JsonObject): Promise<JsonObject> {
    return routeMessage(this.env.ctx, this.env.clock, spec);
  }

  /** What get_listener_domain answers for a sender/recipient pair, and the relay decision. */
  listenerDomain(spec: JsonObject): Promise<JsonObject> {
    return listenerDecision(this.env.ctx, spec);
  }

  /** DKIM signatures of a message, checked by mailauth against the given keys. */
  dkimCheck(message: string | Uint8Array, keys: Record<string, string>): Promise<DkimCheck[]> {
    return checkDkim(message, keys);
  }

  /** Evaluates Lua in the policy's state; returns the first result as JSON. */
  eval(code: string): Promise<JsonValue> {
    return this.env.ctx.runtime.evaluate(code, (co, n) => (n > 0 ? toJson(co, 1, { keepArrayMarker: true }) : null), 'load:eval');
  }

  close(): Promise<void> {
    return this.env.dispose();
  }
}

export function createPolicyTest(options: PolicyTestOptions): Promise<PolicyTest> {
  return PolicyTest.create(options);
}
