/**
 * A failed spool write at insert: reception is refused (its sender retries),
 * while a message made from already-accepted mail (a log hook record,
 * `keepOnSpoolFailure`) is kept in memory, delivered, and saved once the
 * spool accepts writes again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionFactory, SendOutcome } from '../../src/delivery/types.ts';
import { advance, luaQueueConfig, makeMessage, makeTestEngine, until, type TestEngine } from '../helpers/engine.ts';

const engines: TestEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

/** An engine whose spool commits fail while `full` is set, and whose sends fail while `down` is set. */
async function diskFullEngine() {
  const state = { full: false, down: false, sent: [] as string[] };
  const connections: ConnectionFactory = {
    async connect() {
      return {
        send: async (batch): Promise<SendOutcome> => {
          if (state.down) return { kind: 'error', text: 'sink down' };
          state.sent.push(...batch.map((m) => m.id));
          return { kind: 'delivered', content: 'ok' };
        },
        close: async () => undefined,
      };
    },
  };
  const e = await makeTestEngine({
    manager: { connections },
    queueConfig: () => luaQueueConfig({}, { retry_interval: '10s', max_retry_interval: '10s' }),
    spool: { beforeWrite: () => { if (state.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); } },
  });
  engines.push(e);
  return { e, state };
}

describe('insert while spool writes fail', () => {
  it('reception: the insert rejects naming the failure, nothing is queued', async () => {
    const { e, state } = await diskFullEngine();
    state.full = true;
    const msg = makeMessage('a@example.com', {}, e.clock);
    await expect(e.manager.insert(msg)).rejects.toThrow(/spool write failed: ENOSPC/);
    state.full = false;
    await advance(e.clock, 1000);
    expect(state.sent).toEqual([]);
    expect(e.spool.count()).toBe(0);
  });

  it('keepOnSpoolFailure: kept in memory and delivered while the disk is full', async () => {
    const { e, state } = await diskFullEngine();
    state.full = true;
    const msg = makeMessage('hook@example.com', {}, e.clock);
    await e.manager.insert(msg, { keepOnSpoolFailure: true });
    await advance(e.clock, 1000);
    await until(() => state.sent.length === 1, 'the kept message delivered');
    expect(state.sent).toEqual([msg.id]);
  });

  it('keepOnSpoolFailure: a kept message that cannot be delivered yet is saved once the spool recovers', async () => {
    const { e, state } = await diskFullEngine();
    state.full = true;
    state.down = true;
    const msg = makeMessage('hook@example.com', {}, e.clock);
    await e.manager.insert(msg, { keepOnSpoolFailure: true });
    await advance(e.clock, 1000);
    expect(e.spool.count()).toBe(0); // parked in memory: its save failed too
    state.full = false;
    // The retries park it again; that save now succeeds with the whole message.
    for (let i = 0; i < 10 && e.spool.count() === 0; i++) await advance(e.clock, 20_000);
    expect(e.spool.load(msg.id)?.recipients).toEqual(['hook@example.com']);
    state.down = false;
    for (let i = 0; i < 10 && state.sent.length === 0; i++) await advance(e.clock, 20_000);
    expect(state.sent).toEqual([msg.id]);
  });
});
