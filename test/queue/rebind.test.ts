/** Admin rebind (lua-api-more.md §8.4) over the real queue engine. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/message/message.ts';
import { makeMessage, makeTestEngine, quiesce, until, type TestEngine, type TestEngineOptions } from '../helpers/engine.ts';

let engine: TestEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

const REQ = { reason: 'move', data: {}, alwaysFlush: false, suppressLogging: false, triggerRebindEvent: false };

/** Two messages for example.com and one for other.example, all parked after a 451. */
async function parked(opts: TestEngineOptions = {}): Promise<{ e: TestEngine; msgs: Message[] }> {
  const e = (engine = await makeTestEngine(opts));
  e.sink.respond = () => 451;
  const msgs = [makeMessage('a@example.com', {}, e.clock), makeMessage('b@example.com', {}, e.clock), makeMessage('c@other.example', {}, e.clock)];
  for (const m of msgs) await e.manager.insert(m);
  await until(() => e.records.of('TransientFailure').length === 3, 'all parked');
  await quiesce();
  expect(e.manager.admin.scheduledCountTotal()).toBe(3);
  return { e, msgs };
}

describe('admin rebind', () => {
  it('copies data into meta; a changed queue moves the message due now and logs AdminRebind 250 "Rebound from ..."', async () => {
    const { e } = await parked();
    const n = await e.manager.admin.rebind({ domain: 'example.com' }, { ...REQ, data: { queue: 'moved.example' } });
    expect(n).toBe(2);
    const rebinds = e.records.of('AdminRebind');
    expect(rebinds).toHaveLength(2);
    expect(rebinds[0]).toMatchObject({ response: { code: 250, enhanced_code: null, content: 'Rebound from example.com to moved.example: move' }, site: '' });
    // Due now: each is attempted again at once, in its new queue (other.example stays parked).
    await until(() => e.records.of('TransientFailure').length === 5, 'moved messages attempted');
    expect(e.records.of('TransientFailure').slice(3).map((r) => r.message!.queueName())).toEqual(['moved.example', 'moved.example']);
    expect(e.manager.admin.scheduledCount('example.com')).toBe(0);
    expect(e.manager.admin.scheduledCount('other.example')).toBe(1);
  });

  it('an unchanged queue stays parked with the new meta saved; always_flush makes it due now; suppress_logging logs nothing', async () => {
    const { e, msgs } = await parked();
    await e.manager.admin.rebind({ domain: 'example.com' }, { ...REQ, data: { note: 'x' } });
    expect(e.manager.admin.scheduledCount('example.com')).toBe(2);
    expect(e.records.of('AdminRebind')).toHaveLength(0);
    await e.spool.flush();
    expect(e.spool.load(msgs[0]!.id)!.getMeta('note')).toBe('x');
    expect(e.records.of('TransientFailure')).toHaveLength(3);

    e.sink.respond = () => 250;
    await e.manager.admin.rebind({ queueNames: ['example.com'] }, { ...REQ, alwaysFlush: true });
    await until(() => e.records.of('Delivery').length === 2, 'flushed messages delivered');
    expect(e.manager.admin.scheduledCount('other.example')).toBe(1);

    await e.manager.admin.rebind({ domain: 'other.example' }, { ...REQ, data: { queue: 'q2.example' }, suppressLogging: true });
    await until(() => e.records.of('Delivery').length === 3, 'moved message delivered');
    expect(e.records.of('AdminRebind')).toHaveLength(0);
  });

  it('trigger_rebind_event calls rebind_message(msg, data) instead of copying data; without a handler the message is still re-queued', async () => {
    const seen: Record<string, string>[] = [];
    const diags: string[] = [];
    let registered = true;
    const { e } = await parked({
      manager: {
        hooks: {
          diagnostic: (t) => diags.push(t),
          rebindMessage: async (msg, data) => {
            if (!registered) return false;
            seen.push(data);
            msg.setMeta('queue', `${data.target}`);
            return true;
          },
        },
      },
    });
    await e.manager.admin.rebind({ domain: 'other.example' }, { ...REQ, data: { target: 'handled.example' }, triggerRebindEvent: true });
    expect(seen).toEqual([{ target: 'handled.example' }]);
    expect(e.records.of('AdminRebind')[0]!.response.content).toBe('Rebound from other.example to handled.example: move');

    registered = false;
    await e.manager.admin.rebind({ domain: 'example.com' }, { ...REQ, data: { queue: 'ignored.example' }, triggerRebindEvent: true });
    expect(e.manager.admin.scheduledCount('example.com')).toBe(2);
    expect(diags.filter((d) => d.includes('no rebind_message handler is registered'))).toHaveLength(2);
  });
});
