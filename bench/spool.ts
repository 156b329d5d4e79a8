/**
 * The spool alone, as the engine drives it: N messages saved (envelope, meta
 * and data) in group commits of up to --batch concurrent writers, then
 * removed, the way reception and delivery do.
 *
 *   node --import tsx bench/spool.ts [--messages 20000] [--batch 100] [--meta-bytes 600]
 *
 * Prints µs of main-thread time per message for save and for remove, and
 * statements per commit.
 */
import { Message } from '../src/message/message.ts';
import { SqliteSpool } from '../src/spool/sqlite-spool.ts';
import { tempDir } from '../test/helpers/engine.ts';
import { numberFlag, reportFigure } from './report.ts';

const N = numberFlag('--messages', 20_000);
const BATCH = numberFlag('--batch', 100);
const META_BYTES = numberFlag('--meta-bytes', 600);

const dir = tempDir('kumo-bench-spool-');
const spool = new SqliteSpool({ path: dir.path });
const body = Buffer.from(`Subject: hello\r\n\r\n${'x'.repeat(1200)}\r\n`);
const make = (i: number) => new Message({
  sender: 'sender@example.com', recipients: [`user${i}@example.net`],
  meta: { queue: 'webhook.log_hook', log_record: { type: 'Delivery', id: String(i), pad: 'y'.repeat(META_BYTES), n: i, nested: { a: [1, 2, 3] } } },
  data: body,
});

async function phase(msgs: Message[], op: (m: Message) => Promise<void>): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < msgs.length; i += BATCH) await Promise.all(msgs.slice(i, i + BATCH).map(op));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / msgs.length;
}

// Warm-up (JIT, SQLite page cache), not measured.
const warm = Array.from({ length: 2000 }, (_, i) => make(i));
await phase(warm, (m) => spool.save(m));
await phase(warm, (m) => spool.remove(m.id));

const msgs = Array.from({ length: N }, (_, i) => make(i));
const commits0 = spool.stats.commits;
const saveUs = await phase(msgs, (m) => spool.save(m));
const removeUs = await phase(msgs, (m) => spool.remove(m.id));
const commits = spool.stats.commits - commits0;
console.log(`spool: ${N} messages, ${BATCH} writers per commit: save ${saveUs.toFixed(1)} µs, remove ${removeUs.toFixed(1)} µs CPU per message (${commits} commits)`);
spool.close();
dir.cleanup();
reportFigure({ name: 'spool: save + remove, CPU per message', unit: 'µs', ours: saveUs + removeUs, baseline: null, higherIsBetter: false });
