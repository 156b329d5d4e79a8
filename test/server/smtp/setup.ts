/**
 * A real ESMTP listener on 127.0.0.1:0 with a Lua policy and recording ports.
 * Listeners and clients made here are closed after each test.
 */
import { afterEach } from 'vitest';
import { RawSmtpClient } from '../../helpers/smtp-client.ts';
import { newLua, type TestContext } from '../../helpers/lua.ts';
import { pushMessage } from '../../../src/message/lua-binding.ts';
import { EsmtpListener } from '../../../src/server/smtp/listener.ts';
import { parseEsmtpListenerConfig } from '../../../src/server/smtp/config.ts';
import { ListenerMetrics } from '../../../src/server/metrics/listener-metrics.ts';
import { ListenerPolicy } from '../../../src/server/policy-events.ts';
import { MemoryLog } from '../../../src/kumo/diagnostics.ts';
import type { JsonObject } from '../../../src/util/json.ts';
import type { Clock } from '../../../src/util/clock.ts';
import { RecordingIntake, RecordingSink } from '../recorders.ts';

export interface SmtpFixture {
  lua: TestContext;
  listener: EsmtpListener;
  port: number;
  intake: RecordingIntake;
  sink: RecordingSink;
  metrics: ListenerMetrics;
  log: MemoryLog;
  close(): Promise<void>;
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** A raw client on the fixture's port, closed after the test. */
export async function connectSmtp(port: number): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(port);
  opened.push(c);
  return c;
}

export async function startSmtp(options: { policy?: string; config?: JsonObject; clock?: Clock } = {}): Promise<SmtpFixture> {
  const lua = newLua({ clock: options.clock });
  if (options.policy) await lua.load(options.policy);
  const intake = new RecordingIntake();
  const sink = new RecordingSink();
  const metrics = new ListenerMetrics();
  const log = new MemoryLog();
  const listener = await EsmtpListener.start(parseEsmtpListenerConfig({ listen: '127.0.0.1:0', hostname: 'mx.test.example', ...options.config }), {
    intake,
    records: sink,
    policy: new ListenerPolicy(lua.ctx.events, pushMessage),
    listenerMetrics: metrics,
    clock: lua.ctx.clock,
    log,
  });
  const fixture = { lua, listener, port: listener.port, intake, sink, metrics, log, close: () => listener.close() };
  opened.push(fixture);
  return fixture;
}
