import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { readSegments, tempDir } from '../helpers/segments.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { Logging } from '../../src/logging/index.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';

const lit = (s: string) => JSON.stringify(s);

describe('kumo.jsonl.new_writer (§3.12)', () => {
  it('writes JSON lines into one zstd segment, read-only once closed, named by time plus suffix', async () => {
    const dir = path.join(await tempDir(), 'sub', 'dir');
    const t = newLua({ clock: new VirtualClock(Date.UTC(2026, 4, 6, 7, 8, 9, 250)) });
    await t.eval(`
      local w = kumo.jsonl.new_writer { log_dir = ${lit(dir)}, suffix = '_x' }
      w:write_record { type = 'Delivery', n = 1 }
      w:write_line('{"type":"Bounce"}')
      w:write_line('{"type":"Reception"}\\n')
      w:close()
    `);
    const segs = await readSegments(dir);
    expect(segs.map((s) => [s.name, s.readOnly])).toEqual([['20260506-070809.250_x', true]]);
    expect(segs[0]!.text).toBe('{"type":"Delivery","n":1}\n{"type":"Bounce"}\n{"type":"Reception"}\n');
  });

  it('rolls to a new segment at max_file_size and after max_segment_duration; tz names segments in that zone', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const t = newLua({ clock });
    await t.eval(`
      W = kumo.jsonl.new_writer { log_dir = ${lit(dir)}, max_file_size = 20, max_segment_duration = '1m', tz = 'Asia/Tokyo' }
      W:write_line('0123456789')
      W:write_line('0123456789') -- 22 bytes: closes
      W:write_line('a')
    `);
    await clock.advance(30_000);
    await t.eval("W:maintain() W:write_line('b')");
    expect((await readSegments(dir)).map((s) => [s.name, s.readOnly])).toEqual([['20260101-090000', true], ['20260101-090000.000000001', false]]);
    await clock.advance(30_000);
    await t.eval('W:maintain()');
    const segs = await readSegments(dir);
    expect(segs.map((s) => [s.readOnly, s.text])).toEqual([[true, '0123456789\n0123456789\n'], [true, 'a\nb\n']]);
  });

  it('<close> finishes the segment; parameters are checked', async () => {
    const dir = await tempDir();
    const t = newLua();
    await t.eval(`do local w <close> = kumo.jsonl.new_writer { log_dir = ${lit(dir)} } w:write_line('x') end`);
    expect((await readSegments(dir)).map((s) => [s.readOnly, s.text])).toEqual([[true, 'x\n']]);
    expect(await errorOf(t.eval(`kumo.jsonl.new_writer { log_dir = ${lit(dir)}, max_size = 1 }`))).toMatch(/unknown field `max_size`/);
    expect(await errorOf(t.eval('kumo.jsonl.new_writer { }'))).toMatch(/missing field `log_dir`/);
    expect(await errorOf(t.eval(`kumo.jsonl.new_writer { log_dir = ${lit(dir)}, compression_level = 30 }`))).toMatch(/compression_level/);
    expect(await errorOf(t.eval(`kumo.jsonl.new_writer { log_dir = ${lit(dir)}, max_segment_duration = 'soon' }`))).toMatch(/max_segment_duration/);
  });
});

async function writeRecords(dir: string, batches: object[][]): Promise<void> {
  const t = newLua();
  for (const records of batches) {
    const lines = records.map((r) => `w:write_line(${lit(JSON.stringify(r))})`).join('\n');
    await t.eval(`local w = kumo.jsonl.new_writer { log_dir = ${lit(dir)} } ${lines} w:close()`);
  }
}

describe('kumo.jsonl.new_tailer (§3.12)', () => {
  it('reads completed segments in order, in batches of max_batch_size; close flushes the rest then ends', async () => {
    const dir = await tempDir();
    await writeRecords(dir, [[{ n: 1 }, { n: 2 }, { n: 3 }], [{ n: 4 }, { n: 5 }]]);
    const t = newLua();
    const got = await t.eval(`
      local tailer = kumo.jsonl.new_tailer { directory = ${lit(dir)}, max_batch_size = 2 }
      local out = {}
      for batch in tailer:batches() do
        local ns = {}
        for r in batch:iter_records() do table.insert(ns, r.n) end
        table.insert(out, { ns = ns, len = #batch, files = #batch:file_names(), consumer = batch:consumer_name() })
        if #out == 2 then tailer:close() end
      end
      return out
    `);
    expect(got).toEqual([
      { ns: [1, 2], len: 2, files: 1, consumer: 'default' },
      { ns: [3, 4], len: 2, files: 2, consumer: 'default' },
      { ns: [5], len: 1, files: 1, consumer: 'default' },
    ]);
  });

  it('a filter drops records; a committed checkpoint makes the next tailer resume after it', async () => {
    const dir = await tempDir();
    await writeRecords(dir, [[{ type: 'Delivery', n: 1 }, { type: 'Bounce', n: 2 }, { type: 'Delivery', n: 3 }, { type: 'Delivery', n: 4 }]]);
    const t = newLua();
    const first = `
      local tailer = kumo.jsonl.new_tailer({ directory = ${lit(dir)}, max_batch_size = 2, max_batch_latency = '0s', checkpoint_name = 'cp' },
        function(r) return r.type == 'Delivery' end)
      local batch = tailer:batches()()
      local recs = batch:records()
      batch:commit()
      tailer:close()
      local ns = {}
      for _, r in ipairs(recs) do table.insert(ns, r.n) end
      return { ns, #batch:records() }
    `;
    expect(await t.eval(first)).toEqual([[1, 3], 0]);
    expect(JSON.parse(await fsp.readFile(path.join(dir, '.cp.checkpoint'), 'utf8'))).toMatchObject({ line: 3 });
    expect(await t.eval(first)).toEqual([[4], 0]);
  });

  it('tail = true skips what is already there; bad parameters are errors', async () => {
    const dir = await tempDir();
    await writeRecords(dir, [[{ n: 1 }]]);
    const t = newLua();
    await t.eval(`TL = kumo.jsonl.new_tailer { directory = ${lit(dir)}, tail = true, max_batch_size = 1 }`);
    await writeRecords(dir, [[{ n: 2 }]]);
    expect(await t.eval('local b = TL:batches()() TL:close() return b:records()')).toEqual([{ n: 2 }]);
    expect(await errorOf(t.eval(`kumo.jsonl.new_tailer { dir = ${lit(dir)} }`))).toMatch(/unknown field `dir`/);
    expect(await errorOf(t.eval(`kumo.jsonl.new_tailer({ directory = ${lit(dir)} }, 42)`))).toMatch(/must be a function/);
    expect(await errorOf(t.eval(`kumo.jsonl.new_tailer { directory = ${lit(dir)}, max_batch_size = 0 }`))).toMatch(/max_batch_size/);
  });
});

describe('kumo.jsonl.new_multi_tailer (§3.12)', () => {
  it('one pass, each consumer with its own filter and batch size', async () => {
    const dir = await tempDir();
    await writeRecords(dir, [[{ type: 'Delivery', n: 1 }, { type: 'Bounce', n: 2 }, { type: 'Delivery', n: 3 }]]);
    const t = newLua();
    const got = (await t.eval(`
      local tailer = kumo.jsonl.new_multi_tailer {
        directory = ${lit(dir)},
        consumers = {
          { name = 'deliveries', max_batch_size = 2, filter = function(r) return r.type == 'Delivery' end },
          { name = 'everything', max_batch_size = 3 },
        },
      }
      local out = {}
      for batch in tailer:batches() do
        local ns = {}
        for _, r in ipairs(batch:records()) do table.insert(ns, r.n) end
        out[batch:consumer_name()] = ns
        if out.deliveries and out.everything then tailer:close() end
      end
      return out
    `)) as Record<string, number[]>;
    expect(got).toEqual({ deliveries: [1, 3], everything: [1, 2, 3] });
    expect(await errorOf(t.eval(`kumo.jsonl.new_multi_tailer { directory = ${lit(dir)}, consumers = { { max_batch_size = 1 } } }`))).toMatch(/missing field `name`/);
  });
});

describe('kumo.jsonl reads local logs', () => {
  it('a tailer reads the segments configure_local_logs wrote, record by record', async () => {
    const dir = await tempDir();
    const logging = new Logging({ clock: new VirtualClock(), nodeId: NODE_ID, onError: (err) => { throw err; } });
    await logging.configureLocalLogs({ log_dir: dir, max_file_size: 2000, meta: ['n'] });
    for (let n = 0; n < 12; n++) {
      await logging.log({ type: 'Delivery', message: testMessage({ meta: { n }, size: 100 }), response: { code: 250, enhanced_code: null, content: 'ok', command: null } });
    }
    await logging.close();
    expect((await readSegments(dir)).length).toBeGreaterThan(1);
    const t = newLua();
    const got = await t.eval(`
      local tailer = kumo.jsonl.new_tailer { directory = ${lit(dir)}, max_batch_size = 12 }
      local batch = tailer:batches()()
      tailer:close()
      local out = {}
      for _, r in ipairs(batch:records()) do table.insert(out, r.type .. ':' .. r.meta.n) end
      return out
    `);
    expect(got).toEqual(Array.from({ length: 12 }, (_, n) => `Delivery:${n}`));
  });
});
