/**
 * The kumo module as a worker state sees it (src/pool/worker-surface.ts),
 * exercised in-process: routed calls go to a recording fake or, through
 * MainCalls, to a main state in the same thread instead of across threads.
 * And the wire format's integer/float distinction.
 */
import { describe, expect, it } from 'vitest';
import { newLua, errorOf } from '../helpers/lua.ts';
import { placementOf, restrictToWorkerSurface, ROUTED, unavailableMessage } from '../../src/pool/worker-surface.ts';
import { fromWire, messageFromSnapshot, metaChangeOf, openSnapshot, snapshotOf, toWire, applyMetaChanges, type WireJson } from '../../src/pool/wire.ts';
import { JsonFloat } from '../../src/util/json.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { MainCalls } from '../../src/pool/main-calls.ts';
import { Message } from '../../src/message/message.ts';
import { pushMessage } from '../../src/message/lua-binding.ts';
import { lua } from '../../src/lua/fengari.ts';

/** A main state and `n` worker-surface states whose routed calls reach it in-process (as LuaPool does across threads). */
async function mainAndWorkers(n: number) {
  const main = newLua();
  const injected: Message[] = [];
  const latencies: [string, number][] = [];
  const calls = new MainCalls(main.ctx.runtime, { clock: new SystemClock(), inject: async (msg) => void injected.push(msg), observeLatency: (l, s) => void latencies.push([l, s]) });
  const workers = [];
  for (let i = 0; i < n; i++) {
    const w = newLua();
    await restrictToWorkerSurface(w.ctx, (fn, args) => calls.routed(fn, structuredClone(args)));
    workers.push(w);
  }
  return { main, workers, injected, latencies };
}

async function workerLua() {
  const t = newLua();
  const calls: [string, unknown[]][] = [];
  await restrictToWorkerSurface(t.ctx, async (fn, args) => {
    calls.push([fn, args.map(fromWire)]);
    return [toWire([{ domain: 'x.example', n: new JsonFloat(3) }])];
  });
  return { t, calls };
}

const ALL_FUNCTIONS = `
local names, seen = {}, {}
local function walk(t, p)
  if seen[t] then return end
  seen[t] = true
  for k, v in pairs(t) do
    if type(v) == 'function' then names[#names + 1] = p .. k elseif type(v) == 'table' then walk(v, p .. k .. '.') end
  end
end
walk(kumo, 'kumo.')
table.sort(names)
return names`;

describe('worker surface', () => {
  it('every routed name is a real kumo function; the engine-facing ones are not native', async () => {
    const names = (await newLua().eval(ALL_FUNCTIONS)) as string[];
    for (const r of ROUTED) expect(names).toContain(r);
    expect(placementOf('kumo.memoize')).toBe('routed');
    expect(placementOf('kumo.make_throttle')).toBe('routed');
    expect(placementOf('kumo.inject_message')).toBe('routed');
    for (const name of ['kumo.configure_log_hook', 'kumo.define_spool', 'kumo.start_http_listener', 'kumo.spawn_task', 'kumo.dns.configure_resolver']) {
      expect(placementOf(name)).toBe('unavailable');
    }
    for (const name of ['kumo.serde.json_encode', 'kumo.http.build_client', 'kumo.on', 'kumo.reject', 'kumo.make_queue_config', 'kumo.digest.sha256']) {
      expect(placementOf(name)).toBe('native');
    }
  });

  it('an unavailable function raises a Lua error naming it; pure ones keep working', async () => {
    const { t } = await workerLua();
    expect(await errorOf(t.eval(`kumo.set_diagnostic_log_filter('info')`))).toContain(unavailableMessage('kumo.set_diagnostic_log_filter'));
    expect(await t.eval(`return kumo.serde.json_encode({ a = 1.0 })`)).toBe('{"a":1.0}');
    expect(await t.eval(`return pcall(kumo.reject, 451, 'x')`)).toBe(false);
  });

  it('kumo.memoize: one cache on the main thread, shared by every worker state', async () => {
    const { workers: states } = await mainAndWorkers(2);
    for (const t of states) {
      await t.load(`local kumo = require 'kumo'
calls = 0
cached = kumo.memoize(function(k) calls = calls + 1 return { k = k, f = 2.0 }, 'second' end, { name = 'lookup', ttl = '1m', capacity = 10 })
bad = kumo.memoize(function() return function() end end, { name = 'bad', ttl = '1m', capacity = 10 })`);
    }
    expect(await states[0]!.eval(`local a, b = cached('x') return { a.k, math.type(a.f), b }`)).toEqual(['x', 'float', 'second']);
    expect(await states[1]!.eval(`local a = cached('x') return { a.k, calls }`)).toEqual(['x', 0]);
    expect(await states[0]!.eval(`cached('x') cached('y') return calls`)).toBe(2);
    expect(await errorOf(states[1]!.eval(`return bad()`))).toContain('kumo.memoize bad: cannot cache the result on a worker Lua state');
  });

  it('kumo.make_throttle: worker throttles share the main state\'s state; delay_message_if_throttled raises', async () => {
    const { main, workers } = await mainAndWorkers(2);
    const take = `local t = kumo.make_throttle('shared', '2/minute') local d = t:throttle() return { d.throttled, type(d.retry_after), t:explain() }`;
    expect(await workers[0]!.eval(take)).toEqual([false, 'userdata', '2 per minute']);
    expect(await workers[1]!.eval(take)).toEqual([false, 'userdata', '2 per minute']);
    expect(await main.eval(`return kumo.make_throttle('shared', '2/minute'):throttle().throttled`)).toBe(true);
    expect(await errorOf(workers[0]!.eval(`kumo.make_throttle('x', '1/s'):delay_message_if_throttled(nil)`))).toContain('Throttle:delay_message_if_throttled is not available on worker Lua states yet');
    expect(await errorOf(workers[0]!.eval(`kumo.make_throttle('x', 'lots')`))).toMatch(/lots/);
  });

  it('kumo.inject_message hands a copy of the worker\'s message to the main thread\'s engine', async () => {
    const { workers, injected } = await mainAndWorkers(1);
    await workers[0]!.eval(`local m = kumo.make_message('a@b.example', 'c@d.example', 'Subject: x\\r\\n\\r\\nbody') m:set_meta('queue', 'q') kumo.inject_message(m)`);
    expect(injected).toHaveLength(1);
    expect(injected[0]!.sender).toBe('a@b.example');
    expect(injected[0]!.recipients).toEqual(['c@d.example']);
    expect(injected[0]!.metaObject()).toEqual({ queue: 'q' });
    expect(new TextDecoder().decode(injected[0]!.getData())).toBe('Subject: x\r\n\r\nbody');
    expect(injected[0]!.metaDirty && injected[0]!.dataDirty).toBe(true);
  });

  it('kumo.time.start_timer runs in the worker; timer:done() records on the main thread', async () => {
    const { workers, latencies } = await mainAndWorkers(1);
    expect(await workers[0]!.eval(`local t = kumo.time.start_timer('send') return type(t:done())`)).toBe('number');
    await new Promise((r) => setImmediate(r));
    expect(latencies.map(([l]) => l)).toEqual(['send']);
  });

  it('a routed function waits for the main state and keeps integer/float', async () => {
    const { t, calls } = await workerLua();
    expect(await t.eval(`local l = kumo.api.admin.suspend.list({ reason = 'r' }) return { l[1].domain, math.type(l[1].n) }`)).toEqual(['x.example', 'float']);
    expect(calls).toEqual([['kumo.api.admin.suspend.list', [{ reason: 'r' }]]]);
  });

  it('msg:save() on a worker message raises clearly', async () => {
    const { t } = await workerLua();
    const msg = messageFromSnapshot(snapshotOf(new Message({ sender: 'a@b.c', recipients: ['d@e.f'], data: new Uint8Array([1]) })));
    await t.load(`function save_it(m) m:set_meta('k', 1) m:save() end`);
    const e2 = await errorOf(t.ctx.runtime.call('save', (co) => void lua.lua_getglobal(co, 'save_it'), (co) => (pushMessage(co, msg), 1), () => undefined));
    expect(e2).toContain('msg:save() is not available on worker Lua states yet');
    expect(msg.metaDirty).toBe(true);
  });
});

describe('wire', () => {
  it('JsonFloat survives the thread boundary, plain numbers stay integers', () => {
    const v = { a: 3, b: new JsonFloat(3), c: [new JsonFloat(1), 2.5, null, 'x'], d: { e: true } };
    const cloned = structuredClone(toWire(v)) as WireJson;
    const back = fromWire(cloned) as typeof v;
    expect(back.b).toBeInstanceOf(JsonFloat);
    expect(back.c[0]).toBeInstanceOf(JsonFloat);
    expect(back).toEqual(v);
  });

  it('a message snapshot keeps meta exactly, boxing only when a float is inside', () => {
    const plain = new Message({ sender: 'a@b.c', recipients: ['d@e.f'], data: new Uint8Array([1, 2]), meta: { n: 1, o: { s: 'x', a: [1, 2] } } });
    const withFloat = new Message({ sender: 'a@b.c', recipients: ['d@e.f'], data: new Uint8Array([3]), meta: { deep: { f: [new JsonFloat(2)] } } });
    const s1 = snapshotOf(plain);
    const s2 = snapshotOf(withFloat);
    expect([s1.metaBoxed, s2.metaBoxed]).toEqual([false, true]);
    const back1 = messageFromSnapshot(structuredClone(s1));
    const back2 = messageFromSnapshot(structuredClone(s2));
    expect(back1.metaObject()).toEqual(plain.metaObject());
    expect((back2.metaObject().deep as { f: unknown[] }).f[0]).toBeInstanceOf(JsonFloat);
    expect([back1.id, [...back1.getData()], back1.metaDirty]).toEqual([plain.id, [1, 2], false]);
  });

  it('only the meta keys Lua set or removed travel back, and replace those of the engine message', async () => {
    const engineMsg = new Message({ sender: 'a@b.c', recipients: ['d@e.f'], data: new Uint8Array(), meta: { keep: { big: 'x' }, gone: 2, change: 3 } });
    engineMsg.metaDirty = false;
    const opened = openSnapshot(structuredClone(snapshotOf(engineMsg)));
    const t = newLua();
    await t.load(`function touch(m) m:set_meta('change', 4.0) m:set_meta('added', 'x') end`);
    await t.ctx.runtime.call('t', (co) => void lua.lua_getglobal(co, 'touch'), (co) => (pushMessage(co, opened.msg), 1), () => undefined);
    delete opened.msg.metaObject().gone; // no Lua call removes a key; a host-side removal must still travel
    const change = metaChangeOf(0, opened)!;
    expect(change.removed).toEqual(['gone']);
    expect(Object.keys(fromWire(change.set) as object).sort()).toEqual(['added', 'change']);
    applyMetaChanges([engineMsg], [change]);
    expect(engineMsg.metaObject()).toEqual({ keep: { big: 'x' }, change: new JsonFloat(4), added: 'x' });
    expect(engineMsg.metaDirty).toBe(true);
    expect(metaChangeOf(0, openSnapshot(snapshotOf(engineMsg)))).toBeNull();
  });
});
