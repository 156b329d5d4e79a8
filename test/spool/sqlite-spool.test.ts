import { afterEach, describe, expect, it } from 'vitest';
import { Message } from '../../src/message/message.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';
import { parseSpoolParams } from '../../src/spool/spool-params.ts';
import { JsonFloat } from '../../src/util/json.ts';
import { tempDir } from '../helpers/engine.ts';

const dirs: { cleanup(): void }[] = [];
function spoolDir() {
  const d = tempDir('kumo-spool-');
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function message(i: number, meta = {}) {
  return new Message({ sender: 'a@b.example', recipients: [`r${i}@c.example`], meta, data: new TextEncoder().encode(`body ${i}`) });
}

describe('SqliteSpool', () => {
  it('is owned by one process at a time: a second open of the same spool fails while the first is open', async () => {
    const path = spoolDir();
    const spool = new SqliteSpool({ path });
    await spool.save(message(1));
    expect(() => new SqliteSpool({ path })).toThrow(/locked/);
    spool.close();
    const reopened = new SqliteSpool({ path });
    expect(reopened.count()).toBe(1);
    reopened.close();
  });

  it('makes a message durable when save resolves, with lossless meta', async () => {
    const path = spoolDir();
    const spool = new SqliteSpool({ path });
    const msg = message(1, { tenant: 'acme', ratio: new JsonFloat(5), n: 5, list: [1.5, new JsonFloat(2)] });
    msg.due = 1234;
    msg.numAttempts = 3;
    msg.scheduling = { expires: '2026-02-01T00:00:00Z' };
    await spool.save(msg);
    expect(msg.metaDirty).toBe(false);
    expect(msg.shrink()).toBe(true);
    expect(msg.getMeta('ratio')).toEqual(new JsonFloat(5));
    spool.close();

    const reopened = new SqliteSpool({ path });
    expect([...reopened.enumerate()]).toEqual([{ id: msg.id, queue: 'acme@c.example', due: 1234, attempts: 3, schedule: '{"expires":"2026-02-01T00:00:00Z"}' }]);
    const loaded = reopened.load(msg.id)!;
    expect(loaded.isDataLoaded()).toBe(false);
    expect(loaded.metaObject()).toEqual({ tenant: 'acme', ratio: new JsonFloat(5), n: 5, list: [1.5, new JsonFloat(2)] });
    expect(new TextDecoder().decode(loaded.getData())).toBe('body 1');
    expect(loaded.recipients).toEqual(['r1@c.example']);
    expect(loaded.numAttempts).toBe(3);
    expect(loaded.scheduling).toEqual({ expires: '2026-02-01T00:00:00Z' });
    reopened.close();
  });

  it('group-commits concurrent writes into few transactions', async () => {
    const spool = new SqliteSpool({ path: spoolDir() });
    const msgs = Array.from({ length: 1000 }, (_, i) => message(i));
    await Promise.all(msgs.map((m) => spool.save(m)));
    expect(spool.count()).toBe(1000);
    expect(spool.stats.commits).toBeLessThanOrEqual(2);
    await Promise.all(msgs.map((m) => spool.remove(m.id)));
    expect(spool.count()).toBe(0);
    spool.close();
  });

  it('serves reads of not-yet-committed writes and persists only state when meta is clean', async () => {
    const spool = new SqliteSpool({ path: spoolDir() });
    const msg = message(2, { x: 1 });
    const saved = spool.save(msg);
    expect(spool.loadMeta(msg.id)).toEqual({ x: 1 });
    expect(new TextDecoder().decode(spool.loadData(msg.id))).toBe('body 2');
    await saved;
    msg.numAttempts = 7;
    msg.due = 99;
    await spool.save(msg);
    expect(spool.stats.ops).toBe(3); // envelope + data, then one state update
    expect([...spool.enumerate()][0]).toMatchObject({ due: 99, attempts: 7 });
    msg.setMeta('queue', 'elsewhere');
    await spool.save(msg);
    expect([...spool.enumerate()][0]).toMatchObject({ queue: 'elsewhere' });
    spool.close();
  });

  it('enumerates in pages without holding a cursor', async () => {
    const spool = new SqliteSpool({ path: spoolDir() });
    await Promise.all(Array.from({ length: 25 }, (_, i) => spool.save(message(i))));
    const seen: string[] = [];
    for (const e of spool.enumerate(10)) {
      seen.push(e.id);
      await spool.remove(e.id); // writes between pages must work
    }
    expect(new Set(seen).size).toBe(25);
    expect(spool.count()).toBe(0);
    spool.close();
  });

  it('reports free-space health', () => {
    const spool = new SqliteSpool({ path: spoolDir(), minFreeSpace: { percent: 0 }, minFreeInodes: { percent: 0 } });
    expect(spool.health()).toEqual({ healthy: true });
    spool.close();
    const full = new SqliteSpool({ path: spoolDir(), minFreeSpace: { absolute: Number.MAX_SAFE_INTEGER } });
    const h = full.health();
    expect(h.healthy).toBe(false);
    full.close();
  });
});

describe('parseSpoolParams', () => {
  it('parses define_spool options with defaults', () => {
    expect(parseSpoolParams({ name: 'data', path: '/var/spool/kumomta/data' })).toEqual({
      name: 'data', path: '/var/spool/kumomta/data', kind: 'LocalDisk', flush: false, rocksParams: null,
      minFreeSpace: { percent: 10 }, minFreeInodes: { percent: 10 },
    });
    expect(parseSpoolParams({ name: 'meta', path: '/p', kind: 'RocksDB', flush: true, min_free_space: 1024, min_free_inodes: '5%' })).toMatchObject({
      kind: 'RocksDB', flush: true, minFreeSpace: { absolute: 1024 }, minFreeInodes: { percent: 5 },
    });
  });

  it('rejects unknown keys and bad values naming the key', () => {
    expect(() => parseSpoolParams({ name: 'data', path: '/p', flsh: true })).toThrow(/unknown field `flsh`/);
    expect(() => parseSpoolParams({ path: '/p' })).toThrow(/missing field `name`/);
    expect(() => parseSpoolParams({ name: 'd', path: '/p', kind: 'Floppy' })).toThrow(/kind/);
    expect(() => parseSpoolParams({ name: 'd', path: '/p', min_free_space: '110%' })).toThrow(/min_free_space/);
  });
});
