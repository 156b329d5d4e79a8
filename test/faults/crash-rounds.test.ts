/**
 * Fault suite (a): ten rounds of SIGKILL at seeded random points of the CLI
 * daemon (`node bin/kumo-lua.mjs policy.lua`) while mail is injected and the
 * webhook answers a seeded mix of 200, 503 and no answer (timeouts). Then one
 * last start with a healthy webhook: every record of every accepted message
 * (its Reception and its Maildir Delivery) arrives at least once.
 * FAULT_SEED replays a run; FAULT_CRASH_ROUNDS changes the number of rounds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { injectHttp, makeStateDir, maildirWebhookPolicy, spawnCli, waitUntil, type SpawnedCli } from '../helpers/daemon.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';
import { seededRandom } from './seeded-random.ts';

const SEED = Number(process.env.FAULT_SEED ?? 14);
const ROUNDS = Number(process.env.FAULT_CRASH_ROUNDS ?? 10);
const START_MS = 90_000;

const rand = seededRandom(SEED);
const running: SpawnedCli[] = [];
let state = '';

afterAll(async () => {
  for (const p of running) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
  if (state) fs.rmSync(state, { recursive: true, force: true });
});

async function start(policyFile: string): Promise<{ proc: SpawnedCli; url: string }> {
  const proc = spawnCli([policyFile], { env: { KUMO_LUA_LOG: 'info' } });
  running.push(proc);
  const m = await proc.waitForOutput(/http listener on (127\.0\.0\.1:\d+)/, 'stderr', START_MS);
  await proc.waitForOutput(/spool .*requeued/, 'stderr', START_MS);
  return { proc, url: `http://${m[1]}` };
}

type Rec = { type: string; id: string };

describe('fault suite (a): SIGKILL rounds', () => {
  it(`${ROUNDS} rounds of SIGKILL under a flaky webhook lose no record of accepted mail (seed ${SEED})`, async () => {
    let healthy = false;
    const arrived = new Set<string>();
    const sink = await WebhookSink.start({
      respond: (req) => {
        const r = req.json() as Rec;
        const roll = rand();
        if (!healthy && roll < 0.3) return { status: 503, body: 'flaky' };
        if (!healthy && roll < 0.45) return { hang: true };
        arrived.add(`${r.type}:${r.id}`);
        return { status: 200 };
      },
    });
    state = makeStateDir('kumo-fault-crash-');
    const policyFile = path.join(state, 'policy.lua');
    fs.writeFileSync(policyFile, maildirWebhookPolicy({
      webhookUrl: `${sink.url}/events`,
      hookExtra: `timeout = '1s', queue_config = { retry_interval = '1s', max_retry_interval = '2s' },`,
    })(state));

    const accepted: string[] = [];
    let n = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const { proc, url } = await start(policyFile);
        const inject = async (round: number): Promise<void> => {
          const i = n++;
          try {
            const r = await injectHttp(url, {
              envelope_sender: 'crash@example.com',
              recipients: [{ email: `r${i}@example.net` }],
              content: { subject: `round ${round} message ${i}`, text_body: 'x' },
            });
            if (r.status === 200 && r.json.success_count === 1) accepted.push(`r${i}@example.net`);
          } catch {
            // the kill cut the request: not accepted
          }
        };
        // One message before the clock starts (the first request of a fresh process is slow),
        // then more until the SIGKILL lands at a seeded point 0-1.5 s later.
        await inject(round);
        let killed = false;
        const timer = setTimeout(() => {
          killed = true;
          proc.child.kill('SIGKILL');
        }, Math.floor(rand() * 1500));
        while (!killed) await inject(round);
        clearTimeout(timer);
        expect((await proc.exited).signal).toBe('SIGKILL');
      }
      expect(accepted.length).toBeGreaterThanOrEqual(ROUNDS);

      healthy = true;
      const last = await start(policyFile);
      // Records name messages by id; match them to the accepted recipients through the Reception records.
      const recipientOf = new Map<string, string>();
      sink.respondWith((req) => {
        const r = req.json() as Rec & { recipient: string };
        arrived.add(`${r.type}:${r.id}`);
        if (r.type === 'Reception') recipientOf.set(r.id, r.recipient);
        return { status: 200 };
      });
      for (const req of sink.requests) {
        const r = req.json() as Rec & { recipient: string };
        if (r.type === 'Reception') recipientOf.set(r.id, r.recipient);
      }
      const complete = () => {
        const ids = new Map([...recipientOf].map(([id, rcpt]) => [rcpt, id]));
        return accepted.every((rcpt) => ids.has(rcpt) && arrived.has(`Reception:${ids.get(rcpt)}`) && arrived.has(`Delivery:${ids.get(rcpt)}`));
      };
      await waitUntil(complete, `every record of ${accepted.length} accepted messages (seed ${SEED})`, 120_000).catch((e) => {
        const ids = new Map([...recipientOf].map(([id, rcpt]) => [rcpt, id]));
        const missing = accepted.filter((rcpt) => !(ids.has(rcpt) && arrived.has(`Reception:${ids.get(rcpt)}`) && arrived.has(`Delivery:${ids.get(rcpt)}`)));
        throw new Error(`${(e as Error).message}; missing: ${missing.join(', ')}`);
      });
      last.proc.child.kill('SIGTERM');
      expect((await last.proc.exited).code).toBe(0);
    } finally {
      await sink.close();
    }
  }, 15 * 60_000);
});
