/**
 * Issue 14 finding 5: failures visible on the daemon's stderr, rate-limited.
 * Unit: the limiter on a virtual clock, the CPU-guard and spool callbacks.
 * End to end: the spawned daemon prints a line when its webhook fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedLines, failureReporters } from '../../src/cli/failure-lines.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { LuaRuntime } from '../../src/lua/runtime.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';
import { Message } from '../../src/message/message.ts';
import { injectHttp, makeStateDir, maildirWebhookPolicy, spawnCli, waitUntil } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

let dir: string;
beforeAll(() => {
  dir = makeStateDir('kumo-failure-lines-');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('RateLimitedLines', () => {
  it('one line per key per minute; the next says how many were held back', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const out: string[] = [];
    const lines = new RateLimitedLines((l) => out.push(l), clock);
    lines.report('a', 'first');
    lines.report('a', 'again');
    lines.report('b', 'other kind');
    await clock.advance(30_000);
    lines.report('a', 'still');
    await clock.advance(30_000);
    lines.report('a', 'after a minute');
    expect(out).toEqual([
      '2026-01-01T00:00:00.000Z kumo-lua: first',
      '2026-01-01T00:00:00.000Z kumo-lua: other kind',
      '2026-01-01T00:01:00.000Z kumo-lua: after a minute (2 more like this in the last 60s)',
    ]);
  });
});

describe('reporters', () => {
  it('the CPU guard reports each stop', async () => {
    const out: string[] = [];
    const report = failureReporters((l) => out.push(l));
    const rt = new LuaRuntime({ cpuLimitMs: 50, onCpuStop: report.onCpuStop, print: () => undefined });
    await expect(rt.evaluate('while true do end', () => null, 'spin')).rejects.toThrow(/kumo-lua stopped a handler/);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/kumo-lua: kumo-lua stopped a handler in 'spin' that ran for more than 50ms/);
  });

  it('a failed spool commit is reported once and rejects its writers', async () => {
    const out: string[] = [];
    const report = failureReporters((l) => out.push(l));
    let full = true;
    const spool = new SqliteSpool({
      path: path.join(dir, 'spool'),
      onWriteError: report.onSpoolWriteError,
      beforeWrite: () => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    });
    const msg = new Message({ id: 'a'.repeat(32), sender: 's@x.example', recipients: ['r@y.example'], meta: {}, data: Buffer.from('Subject: x\r\n\r\nbody') });
    await expect(spool.save(msg)).rejects.toThrow('spool write failed: ENOSPC: no space left on device, write');
    await expect(spool.save(new Message({ id: 'b'.repeat(32), sender: 's@x.example', recipients: ['r@y.example'], meta: {}, data: Buffer.from('x') }))).rejects.toThrow();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/kumo-lua: spool write failed: ENOSPC: no space left on device, write \(messages are not accepted until writes succeed\)$/);
    full = false;
    await spool.save(msg);
    expect(spool.count()).toBe(1);
    spool.close();
  });
});

describe('the daemon', () => {
  it('prints the timestamped CPU-guard line when it stops a handler (the CLI wires onCpuStop)', async () => {
    const file = path.join(dir, 'spin.lua');
    fs.writeFileSync(file, "local kumo = require 'kumo'\nkumo.on('main', function() while true do end end)\n");
    const proc = spawnCli(['--script', file]);
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 100_000);
    const exit = await proc.exited;
    clearTimeout(timer);
    expect(exit.code).toBe(1);
    // The reporter's line (ISO time first), not only the "main failed" error that follows it.
    expect(proc.stderr()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z kumo-lua: kumo-lua stopped a handler in 'event:main' that ran for more than 10000ms/m);
  }, 120_000);

  it('prints one line when its log hook fails, not one per record', async () => {
    const sink = await WebhookSink.start({ respond: { status: 503, body: 'collector down' } });
    const state = makeStateDir('kumo-failure-lines-daemon-');
    const file = path.join(state, 'policy.lua');
    fs.writeFileSync(file, maildirWebhookPolicy({ webhookUrl: `${sink.url}/events` })(state));
    const proc = spawnCli([file]);
    try {
      const m = await proc.waitForOutput(/http listener on (127\.0\.0\.1:\d+)/, 'stderr', 60_000);
      await proc.waitForOutput(/spool .*requeued/, 'stderr', 60_000);
      for (let i = 0; i < 3; i++) {
        const res = await injectHttp(`http://${m[1]}`, { envelope_sender: 'a@example.com', recipients: [{ email: `b${i}@example.net` }], content: { subject: 'x', text_body: 'x' } });
        expect(res.status, res.text).toBe(200);
      }
      await waitUntil(() => sink.requests.length >= 3, `hook attempts; stderr: ${proc.stderr()}`, 60_000);
      await proc.waitForOutput(/kumo-lua: log hook 'webhook' delivery failed, will retry: 451 503 Service Unavailable: collector down/, 'stderr', 30_000);
      expect(proc.stderr().match(/log hook 'webhook' delivery failed/g)).toHaveLength(1);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await sink.close();
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 120_000);
});
