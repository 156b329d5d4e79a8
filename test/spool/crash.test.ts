import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSink, tempDir } from '../helpers/engine.ts';

const CHILD = new URL('./crash-child.ts', import.meta.url).pathname;

function run(args: string[], onLine: (line: string) => void): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('crash safety', () => {
  it('SIGKILL with a backlog in flight: after restart every durable message is delivered at least once', async () => {
    const dir = tempDir('kumo-crash-');
    const sink = await new HttpSink().start();
    cleanups.push(() => dir.cleanup(), () => sink.stop());
    sink.delayMs = 3;
    const durable = new Set<string>();
    const first = run(['fill', dir.path, sink.url, '3000'], (line) => {
      if (line.startsWith('durable ')) durable.add(line.slice(8));
    });
    cleanups.push(() => first.child.kill('SIGKILL'));
    const started = Date.now();
    while ((durable.size < 1500 || sink.requests.length < 100) && Date.now() - started < 30_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(durable.size).toBeGreaterThanOrEqual(1500);
    first.child.kill('SIGKILL');
    await first.exited;
    const deliveredBeforeCrash = new Set(sink.ids());
    expect(deliveredBeforeCrash.size).toBeLessThan(durable.size); // the crash really left a backlog

    let drained = false;
    let requeued = -1;
    const second = run(['resume', dir.path, sink.url], (line) => {
      if (line === 'drained') drained = true;
      if (line.startsWith('requeued ')) requeued = Number(line.slice(9));
    });
    cleanups.push(() => second.child.kill('SIGKILL'));
    expect(await second.exited).toBe(0);
    expect(drained).toBe(true);
    expect(requeued).toBeGreaterThan(0);

    const delivered = new Set(sink.ids());
    const lost = [...durable].filter((id) => !delivered.has(id));
    expect(lost).toEqual([]);
  }, 90_000);
});
