/**
 * Child process for the crash test: `fill <dir> <url> <count>` inserts a
 * backlog and prints `durable <id>` once each insert resolved; `resume <dir>
 * <url>` re-queues the spool and exits with `drained` once it is empty.
 */
import { QueueManager } from '../../src/queue/manager.ts';
import { parseEgressPathConfig } from '../../src/queue/egress-path-config.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';
import { SystemClock } from '../../src/util/clock.ts';
import { HttpConnectionFactory, luaQueueConfig, makeMessage } from '../helpers/engine.ts';

const [mode, dir, url, countText] = process.argv.slice(2) as [string, string, string, string | undefined];
const spool = new SqliteSpool({ path: dir });
const manager = new QueueManager({
  clock: new SystemClock(),
  spool,
  records: { log: async () => {} },
  connections: new HttpConnectionFactory(() => url),
  resolveQueueConfig: async () => luaQueueConfig({}, { retry_interval: '1s' }),
  resolveEgressPathConfig: async () => parseEgressPathConfig({ connection_limit: 8, max_ready: 100_000 }),
  hooks: { diagnostic: (t) => process.stderr.write(`${t}\n`) },
});

if (mode === 'fill') {
  const count = Number(countText);
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => makeMessage(`r${i + j}@crash.example`));
    await Promise.all(batch.map(async (m) => {
      await manager.insert(m);
      process.stdout.write(`durable ${m.id}\n`);
    }));
  }
  process.stdout.write('filled\n');
} else {
  const summary = await manager.start();
  process.stdout.write(`requeued ${summary.requeued}\n`);
  const poll = setInterval(() => {
    if (spool.count() > 0) return;
    clearInterval(poll);
    void manager.shutdown().then(() => {
      spool.close();
      process.stdout.write('drained\n');
      process.exit(0);
    });
  }, 50);
}
