/**
 * Fault suite (c): the disk. ENOSPC injected at the spool's write seam (every
 * commit fails while the disk is "full"), a real small filesystem (a tmpfs,
 * when this machine lets us mount one; skipped otherwise) and a spool that
 * cannot be created. Injection is refused with a clear error; nothing that
 * was accepted is lost.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { injectHttp, makeStateDir, maildirMessages, maildirWebhookPolicy, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

type Rec = { type: string; id: string };

let sink: WebhookSink | null = null;
let daemon: TestDaemon | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await daemon?.stop().catch(() => undefined);
  await sink?.close();
  daemon = sink = null;
  for (const f of cleanups.splice(0)) f();
});

const message = (i: number, size = 0) => ({
  envelope_sender: 'disk@example.com',
  recipients: [{ email: `r${i}@example.net` }],
  content: { subject: `disk ${i}`, text_body: `message ${i} ${'z'.repeat(size)}` },
});

/** A sink that is down until `healthy()` and records each accepted record key once. */
async function collector() {
  let healthy = false;
  const accepted = new Set<string>();
  const s = await WebhookSink.start({
    respond: (req) => {
      if (!healthy) return { status: 503 };
      const r = req.json() as Rec;
      accepted.add(`${r.type}:${r.id}`);
      return { status: 200 };
    },
  });
  return { sink: s, accepted, healthy: () => (healthy = true) };
}

describe('fault suite (c): disk full and unwritable spool', () => {
  it('ENOSPC at the spool write seam: injection refused naming it, accepted mail and its records survive', async () => {
    const c = await collector();
    sink = c.sink;
    let full = false;
    const enospc = () => {
      if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const state = makeStateDir('kumo-fault-enospc-');
    cleanups.push(() => fs.rmSync(state, { recursive: true, force: true }));
    const policy = maildirWebhookPolicy({ webhookUrl: `${sink.url}/events`, hookExtra: `queue_config = { retry_interval = '1s', max_retry_interval = '1s' },` });
    daemon = await startDaemon({ policy, stateDir: state, spoolWrites: { beforeWrite: enospc } });

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await injectHttp(daemon.httpUrl!, message(i));
      expect(r.json).toMatchObject({ success_count: 1 });
    }
    await daemon.waitFor(() => maildirMessages(state).length === 3, 'three delivered to the Maildir', 30_000);
    for (const r of daemon.recordsOf('Reception')) ids.push(String(r.id));

    full = true;
    const refused = await injectHttp(daemon.httpUrl!, message(99));
    expect(refused.status).toBe(200);
    expect(refused.json).toMatchObject({ success_count: 0, fail_count: 1 });
    expect(String((refused.json.errors as string[])[0])).toMatch(/spool write failed: ENOSPC: no space left on device/);
    // the hook keeps retrying against the down collector while every spool write fails
    await new Promise((r) => setTimeout(r, 2500));

    full = false;
    c.healthy();
    const expected = ids.flatMap((id) => [`Reception:${id}`, `Delivery:${id}`]);
    await daemon.waitFor(() => expected.every((k) => c.accepted.has(k)), 'every record of the accepted mail arrived', 60_000);
    expect(maildirMessages(state).length).toBeGreaterThanOrEqual(3);
    expect([...c.accepted].filter((k) => k.startsWith('Reception:')).sort()).toEqual(ids.map((id) => `Reception:${id}`).sort());
  }, 120_000);

  it('a real small filesystem (tmpfs) fills up: injection refused with a reason, the daemon stays up, accepted mail delivered', async (ctx) => {
    const mnt = makeStateDir('kumo-fault-tmpfs-');
    cleanups.push(() => fs.rmSync(mnt, { recursive: true, force: true }));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // not root, or no mount in this container
      return;
    }
    cleanups.unshift(() => execFileSync('umount', ['-l', mnt], { stdio: 'ignore' }));
    const c = await collector();
    sink = c.sink;
    c.healthy();
    const state = makeStateDir('kumo-fault-tmpfs-state-');
    cleanups.push(() => fs.rmSync(state, { recursive: true, force: true }));
    // The spool on the small filesystem; Maildir and logs elsewhere.
    const policy = (dir: string) =>
      maildirWebhookPolicy({ webhookUrl: `${sink!.url}/events` })(dir)
        .replace(`'${dir}/spool/data'`, `'${mnt}/spool/data'`)
        .replace(`'${dir}/spool/meta'`, `'${mnt}/spool/meta'`);
    daemon = await startDaemon({ policy, stateDir: state });
    const accepted: number[] = [];
    let refusal = '';
    for (let i = 0; i < 200 && !refusal; i++) {
      const r = await injectHttp(daemon.httpUrl!, message(i, 64 * 1024));
      if (r.status === 200 && r.json.success_count === 1) accepted.push(i);
      else refusal = r.status === 200 ? String((r.json.errors as string[])[0]) : `${r.status} ${r.text}`;
      // Keep the spool from draining so it really fills: nothing is removed faster than this loop adds.
    }
    expect(refusal, 'the filesystem filled up and injection was refused').toMatch(/full|space|ENOSPC|SQLITE_FULL|unhealthy|suspended|spool/i);
    const live = await fetch(`${daemon.httpUrl}/api/check-liveness/v1`);
    expect([200, 503]).toContain(live.status);
    await daemon.waitFor(() => maildirMessages(state).length >= accepted.length, 'every accepted message delivered', 60_000);
  }, 180_000);

  it('a spool that cannot be created: the daemon refuses to start, naming the path', async () => {
    const state = makeStateDir('kumo-fault-unwritable-');
    cleanups.push(() => fs.rmSync(state, { recursive: true, force: true }));
    const blocker = path.join(state, 'not-a-dir');
    fs.writeFileSync(blocker, 'a file where the spool directory should be');
    const policy = (dir: string) => maildirWebhookPolicy({ webhookUrl: 'http://127.0.0.1:9/' })(dir).replace(`'${dir}/spool/meta'`, `'${blocker}/meta'`);
    await expect(startDaemon({ policy, stateDir: state })).rejects.toThrow(/ENOTDIR|not a directory/i);
  }, 60_000);
});
