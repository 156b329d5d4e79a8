import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Logging } from '../../src/logging/index.ts';
import { LoggingConfigError } from '../../src/logging/options.ts';
import type { RecordEvent } from '../../src/records/types.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';
import { readSegments, recordLines, tempDir } from '../helpers/segments.ts';

const open: Logging[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

function setup(start = Date.UTC(2025, 8, 12, 11, 8, 1, 440)) {
  const clock = new VirtualClock(start);
  const errors: string[] = [];
  const logging = new Logging({ clock, nodeId: NODE_ID, onError: (err, where) => errors.push(`${where}: ${(err as Error).message}`) });
  open.push(logging);
  return { clock, logging, errors };
}

const delivery = (i = 0, meta?: Record<string, string>): RecordEvent => ({
  type: 'Delivery',
  message: testMessage({ meta: { tenant: 'acme', reception_protocol: 'ESMTP', n: i, ...meta }, size: 300 }),
  response: { code: 250, enhanced_code: null, content: `ok ${i}`, command: null },
});

describe('configure_local_logs options', () => {
  it('rejects unknown options, naming them', async () => {
    const { logging } = setup();
    const dir = await tempDir();
    await expect(logging.configureLocalLogs({ log_dir: dir, max_file_sise: 5 })).rejects.toThrow(/unknown option 'max_file_sise'/);
    await expect(logging.configureLocalLogs({ log_dir: dir, per_record: { Deliveryy: {} } })).rejects.toThrow(/per_record: unknown option 'Deliveryy'/);
    await expect(logging.configureLocalLogs({ log_dir: dir, per_record: { Bounce: { enabled: false } } })).rejects.toThrow(/per_record.Bounce: unknown option 'enabled'/);
    await expect(logging.configureLocalLogs({ max_file_size: 5 })).rejects.toThrow(/option 'log_dir' is required/);
    await expect(logging.configureLocalLogs({ log_dir: dir, compression_level: 'high' })).rejects.toThrow(/'compression_level' must be an integer/);
    await expect(logging.configureLocalLogs({ log_dir: dir, max_segment_duration: '5 fortnights' })).rejects.toThrow(/unknown time unit "fortnights"/);
    await expect(logging.configureLocalLogs({ log_dir: dir, meta: ['a', 3] })).rejects.toThrow(/'meta'\[2\] must be a string/);
    await expect(logging.configureLocalLogs({ log_dir: dir, min_free_space: 'lots' })).rejects.toThrow(/min_free_space/);
    await expect(logging.configureLocalLogs({ log_dir: dir, per_record: { Any: { template: '{{ id ' } } })).rejects.toThrow(LoggingConfigError);
  });

  it('creates log_dir recursively and marks files left from an earlier run read-only', async () => {
    const base = await tempDir();
    await fsp.writeFile(path.join(base, '20250101-000000'), 'old');
    await fsp.writeFile(path.join(base, '.hidden'), 'x');
    const { logging } = setup();
    await logging.configureLocalLogs({ log_dir: base, per_record: { Bounce: { log_dir: path.join(base, 'a/b') } } });
    expect((await fsp.stat(path.join(base, '20250101-000000'))).mode & 0o222).toBe(0);
    expect((await fsp.stat(path.join(base, '.hidden'))).mode & 0o200).not.toBe(0);
    expect((await fsp.stat(path.join(base, 'a/b'))).isDirectory()).toBe(true);
  });
});

describe('local log segments', () => {
  it('rotates by size; closed segments are read-only zstd files holding every record once', async () => {
    const { logging } = setup();
    const dir = await tempDir();
    await logging.configureLocalLogs({ log_dir: dir, max_file_size: 4000, meta: ['n'] });
    const total = 40;
    for (let i = 0; i < total; i++) await logging.log(delivery(i));
    await logging.close();
    const segs = await readSegments(dir);
    expect(segs.length).toBeGreaterThan(3);
    const seen: number[] = [];
    for (const [idx, seg] of segs.entries()) {
      expect(seg.readOnly).toBe(true);
      // Later segments opened within the same millisecond move on by 1 ns to keep names unique.
      expect(seg.name).toMatch(idx === 0 ? /^20250912-110801\.440$/ : /^20250912-110801\.4400000\d\d$/);
      const lines = recordLines(seg.text);
      const bytes = Buffer.byteLength(seg.text);
      const lastLine = Buffer.byteLength(seg.text.slice(seg.text.lastIndexOf('\n', seg.text.length - 2) + 1));
      if (idx < segs.length - 1) {
        expect(bytes).toBeGreaterThanOrEqual(4000);
        expect(bytes - lastLine).toBeLessThan(4000);
      }
      for (const l of lines) seen.push((l.meta as { n: number }).n);
    }
    expect(seen).toEqual([...Array(total).keys()]);
    expect(segs[0]!.name).toBe('20250912-110801.440');
  });

  it('rotates by duration on a timer while idle, and names segments by their opening time', async () => {
    const { clock, logging } = setup(Date.UTC(2025, 8, 12, 11, 8, 1));
    const dir = await tempDir();
    const logger = await logging.configureLocalLogs({ log_dir: dir, max_segment_duration: '1 minute' });
    await logging.log(delivery(1));
    await logging.log(delivery(2));
    await logging.flush();
    expect((await readSegments(dir).catch(() => [])).length).toBe(1);
    await clock.advance(59_000);
    await logger.flush();
    const name = '20250912-110801';
    expect((await fsp.stat(path.join(dir, name))).mode & 0o200).not.toBe(0);
    await clock.advance(1_000);
    await logger.flush();
    expect((await fsp.stat(path.join(dir, name))).mode & 0o222).toBe(0);
    expect(recordLines((await readSegments(dir))[0]!.text)).toHaveLength(2);

    await clock.advance(30_500);
    await logging.log(delivery(3));
    await logging.close();
    const segs = await readSegments(dir);
    expect(segs.map((s) => s.name)).toEqual(['20250912-110801', '20250912-110931.500']);
    expect(segs.every((s) => s.readOnly)).toBe(true);
    expect(recordLines(segs[1]!.text).map((r) => (r.response as { content: string }).content)).toEqual(['ok 3']);
  });

  it('closes an expired segment on the next write even before its timer runs', async () => {
    // A clock whose timers never fire, so only the write-time check can close the segment.
    let now = Date.UTC(2025, 0, 1);
    const clock = { now: () => now, setTimer: () => ({ cancel() {} }), sleep: async () => {} };
    const logging = new Logging({ clock, nodeId: NODE_ID });
    open.push(logging);
    const dir = await tempDir();
    await logging.configureLocalLogs({ log_dir: dir, max_segment_duration: 10 });
    await logging.log(delivery(1));
    await logging.flush();
    now += 10_000;
    await logging.log(delivery(2));
    await logging.flush();
    const segs = await readSegments(dir);
    expect(segs[0]!.readOnly).toBe(true);
    expect(recordLines(segs[0]!.text)).toHaveLength(2);
  });

  it('renders templates, honours suffix, segment_header, per-type log_dir and Any.enable', async () => {
    const { logging } = setup(Date.UTC(2025, 8, 12, 11, 8, 1));
    const dir = await tempDir();
    const bounceDir = path.join(dir, 'bounces');
    await logging.configureLocalLogs({
      log_dir: dir,
      headers: ['X-*'],
      per_record: {
        Delivery: {
          suffix: '.csv',
          segment_header: 'id,recipient,code,campaign,tls\n',
          template: "{{ id }},{{ recipient }},{{ response.code }},{{ headers['X-Campaign-Id'] }},{{ tls_cipher }}|{{ egress_pool }}\n",
        },
        Bounce: { log_dir: bounceDir, template: '{{ log_record | tojson }}' },
        Any: { enable: false },
      },
    });
    const ev = delivery(1);
    await logging.log(ev);
    await logging.log({ ...delivery(2), type: 'Bounce', response: { code: 550, enhanced_code: null, content: '<&>', command: null } });
    await logging.log({ ...delivery(3), type: 'TransientFailure' });
    await logging.close();
    const main = await readSegments(dir);
    expect(main.map((s) => s.name)).toEqual(['20250912-110801.csv']);
    expect(main[0]!.text).toBe(`id,recipient,code,campaign,tls\n${ev.message!.id},alice@example.net,250,summer24,|none\n`);
    const bounces = await readSegments(bounceDir);
    const line = bounces[0]!.text;
    expect(line.endsWith('}\n')).toBe(true);
    expect(line).toContain('"content":"\\u003c\\u0026\\u003e"');
    const keys = Object.keys(JSON.parse(line));
    expect(keys).toEqual([...keys].sort());
  });

  it('drops a record whose template fails to render and keeps logging', async () => {
    const { logging, errors } = setup();
    const dir = await tempDir();
    await logging.configureLocalLogs({ log_dir: dir, meta: ['flag'], per_record: { Delivery: { template: '{{ meta.flag.name }}' } } });
    await logging.log(delivery(1));
    const ev = delivery(2);
    ev.message!.setMeta('flag', { name: 'mx.example.' });
    await logging.log(ev);
    await logging.close();
    expect((await readSegments(dir))[0]!.text).toBe('mx.example.\n');
    expect(errors.join('\n')).toMatch(/template for Delivery/);
  });

  it('asks filter_event for message records only; false or an error means not logged', async () => {
    const { logging } = setup();
    const dir = await tempDir();
    const calls: string[] = [];
    logging.setCallbacks({
      filterEvent: async (name, msg) => {
        calls.push(name);
        const n = msg.getMeta('n');
        if (n === 3) throw new Error('boom');
        return n === 1;
      },
    });
    await logging.configureLocalLogs({ log_dir: dir, filter_event: 'keep_it', meta: ['n'] });
    for (const i of [1, 2, 3]) await logging.log(delivery(i));
    await logging.log({ type: 'Rejection', message: null, response: { code: 550, enhanced_code: null, content: 'no', command: null }, rejection: { sender: '', recipient: '', connMeta: {} } });
    await logging.close();
    const lines = recordLines((await readSegments(dir))[0]!.text);
    expect(lines.map((l) => l.type)).toEqual(['Delivery', 'Rejection']);
    expect(lines[0]!.meta).toEqual({ n: 1 });
    expect(calls).toEqual(['keep_it', 'keep_it', 'keep_it']);
  });

  it('honours compression_level', async () => {
    const sizes: number[] = [];
    for (const level of [1, 19]) {
      const { logging } = setup();
      const dir = await tempDir();
      await logging.configureLocalLogs({ log_dir: dir, compression_level: level, meta: ['n'] });
      for (let i = 0; i < 400; i++) await logging.log(delivery(i * 7919));
      await logging.close();
      sizes.push((await readSegments(dir))[0]!.compressedBytes);
    }
    expect(sizes[1]!).toBeLessThan(sizes[0]!);
  });

  it('holds producers back when back_pressure records are queued', async () => {
    const { logging } = setup();
    const dir = await tempDir();
    const logger = await logging.configureLocalLogs({ log_dir: dir, back_pressure: 2 });
    const pending = Array.from({ length: 30 }, (_, i) => logging.log(delivery(i)));
    expect(logger.stats().queued).toBeLessThanOrEqual(2);
    await Promise.all(pending);
    await logging.close();
    expect(logger.stats().submitFull).toBeGreaterThan(0);
    expect(recordLines((await readSegments(dir))[0]!.text)).toHaveLength(30);
  });
});
