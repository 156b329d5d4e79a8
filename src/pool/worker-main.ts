/**
 * Entry of one Lua worker thread (src/pool/pool.ts starts it). It builds its
 * own Lua state with the kumo module, restricts that module to what a worker
 * may run (worker-surface.ts), runs the policy's top level (so `kumo.on`
 * registrations exist here too; `init` and `pre_init` are never fired in a
 * worker), then serves custom_lua connections: constructor, send/send_batch,
 * close. A connection lives on the worker that constructed it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createKumoContext, loadPolicyFile } from '../policy/create.ts';
import { LuaConnectionFactory } from '../delivery/lua-connection.ts';
import type { DeliveryConnection } from '../delivery/types.ts';
import type { DiagnosticLog, LogLevel } from '../kumo/diagnostics.ts';
import { closeDefaultAmqpPool } from '../kumo/amqp.ts';
import { restrictToWorkerSurface } from './worker-surface.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { pushText } from '../lua/strings.ts';
import { errorToWire, metaChangeOf, openSnapshot, type FromWorker, type MessageEventReply, type MetaChange, type ToWorker, type WireJson, type WorkerInit } from './wire.ts';

const port = parentPort!;
const init = workerData as WorkerInit & { logLevels: LogLevel[] };
const post = (m: FromWorker): void => port.postMessage(m);

class PortLog implements DiagnosticLog {
  private readonly levels = new Set(init.logLevels);
  enabled(level: LogLevel): boolean {
    return this.levels.has(level);
  }
  write(level: LogLevel, text: string): void {
    if (this.enabled(level)) post({ t: 'log', level, text });
  }
}

const pendingRpc = new Map<number, { resolve: (v: WireJson[]) => void; reject: (e: Error) => void }>();
let nextRpc = 1;
function routedCall(fn: string, args: WireJson[]): Promise<WireJson[]> {
  const id = nextRpc++;
  return new Promise((resolve, reject) => {
    pendingRpc.set(id, { resolve, reject });
    post({ t: 'rpc', id, fn, args });
  });
}

const ctx = createKumoContext({
  policyFile: init.policyFile,
  luaPaths: init.luaPaths,
  cpuLimitMs: init.cpuLimitMs,
  nodeId: init.nodeId,
  log: new PortLog(),
  print: (line) => post({ t: 'print', line }),
  onCpuStop: (message) => post({ t: 'cpu-stop', message }),
});
const factory = new LuaConnectionFactory(ctx.runtime, ctx.events);
const connections = new Map<number, DeliveryConnection>();
let nextConn = 1;

async function handle(m: Exclude<ToWorker, { t: 'rpc-reply' } | { t: 'shutdown' }>): Promise<unknown> {
  switch (m.t) {
    case 'connect': {
      const conn = await factory.connect(m.name, m.domain, m.tenant, m.campaign, { batchSize: m.batchSize });
      const id = nextConn++;
      connections.set(id, conn);
      return id;
    }
    case 'send': {
      const conn = connections.get(m.conn);
      if (!conn) throw new Error(`internal: no connection ${m.conn} on Lua worker ${init.index}`);
      const opened = m.messages.map(openSnapshot);
      const outcome = await conn.send(opened.map((o) => o.msg));
      const metaChanges: MetaChange[] = [];
      opened.forEach((o, index) => {
        const change = metaChangeOf(index, o);
        if (change) metaChanges.push(change);
      });
      return { outcome, metaChanges };
    }
    case 'message-event': {
      const opened = openSnapshot(m.message);
      const value = await ctx.events.fireBoolean(m.name, (co) => {
        pushMessage(co, opened.msg);
        for (const a of m.args) pushText(co, a);
        return 1 + m.args.length;
      });
      const change = metaChangeOf(0, opened);
      const reply: MessageEventReply = { value, metaChanges: change ? [change] : [] };
      return reply;
    }
    case 'close': {
      const conn = connections.get(m.conn);
      connections.delete(m.conn);
      await conn?.close();
      return null;
    }
  }
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'rpc-reply') {
    const p = pendingRpc.get(m.id);
    pendingRpc.delete(m.id);
    if (m.ok) p?.resolve(m.values);
    else p?.reject(new Error(m.error));
    return;
  }
  if (m.t === 'shutdown') {
    void shutdown();
    return;
  }
  handle(m).then(
    (value) => post({ t: 'reply', id: m.id, ok: true, value }),
    (e: unknown) => post({ t: 'reply', id: m.id, ok: false, error: errorToWire(e) }),
  );
});

async function shutdown(): Promise<void> {
  for (const [id, conn] of connections) {
    connections.delete(id);
    await conn.close().catch(() => undefined);
  }
  ctx.runtime.close();
  for (const p of pendingRpc.values()) p.reject(new Error('the Lua worker is shutting down'));
  pendingRpc.clear();
  await closeDefaultAmqpPool().catch(() => undefined);
  post({ t: 'closed' });
  port.close();
}

try {
  await restrictToWorkerSurface(ctx, routedCall);
  // Which worker state this is (0-based); nil on the main state.
  await ctx.runtime.evaluate(`_KUMO_LUA_WORKER = ${init.index}`, () => undefined);
  await loadPolicyFile(ctx, init.policyFile);
  post({ t: 'ready' });
} catch (e) {
  post({ t: 'load-failed', error: errorToWire(e) });
}
