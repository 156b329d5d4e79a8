/** A real HTTP listener on 127.0.0.1:0 with a Lua policy and recording ports. */
import { fetch, type Response } from 'undici';
import { newLua, type TestContext } from '../../helpers/lua.ts';
import { pushMessage } from '../../../src/message/lua-binding.ts';
import { HttpListener, parseHttpListenerConfig } from '../../../src/server/http/listener.ts';
import { ListenerMetrics } from '../../../src/server/metrics/listener-metrics.ts';
import { ListenerPolicy } from '../../../src/server/policy-events.ts';
import type { AdminOps, MetricsSource, ServerHealth } from '../../../src/server/ports.ts';
import type { JsonObject } from '../../../src/util/json.ts';
import { MemoryLog } from '../../../src/kumo/diagnostics.ts';
import { RecordingIntake, RecordingSink } from '../recorders.ts';

export interface HttpFixture {
  lua: TestContext;
  listener: HttpListener;
  url: string;
  intake: RecordingIntake;
  sink: RecordingSink;
  metrics: ListenerMetrics;
  health: { reason: string | null } & ServerHealth;
  close(): Promise<void>;
}

export async function startHttp(
  options: { policy?: string; config?: JsonObject; admin?: AdminOps; sources?: MetricsSource[] } = {},
): Promise<HttpFixture> {
  const lua = newLua();
  if (options.policy) await lua.load(options.policy);
  const intake = new RecordingIntake();
  const sink = new RecordingSink();
  const metrics = new ListenerMetrics();
  const health = {
    reason: null as string | null,
    unavailableReason() {
      return this.reason;
    },
  };
  const listener = await HttpListener.start(parseHttpListenerConfig({ listen: '127.0.0.1:0', hostname: 'mx.test.example', ...options.config }), {
    events: lua.ctx.events,
    clock: lua.ctx.clock,
    log: new MemoryLog(),
    policy: new ListenerPolicy(lua.ctx.events, pushMessage),
    listenerMetrics: metrics,
    intake,
    records: sink,
    admin: options.admin,
    metricsSources: options.sources,
    health,
  });
  return { lua, listener, url: listener.url, intake, sink, metrics, health, close: () => listener.close() };
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
