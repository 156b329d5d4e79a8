import type { Message } from '../message/message.ts';
import { createdMsFromSpoolId as createdFromId } from '../message/spool-id.ts';
import { ENH_5_1_3, expirationEvent } from './queue-records.ts';
import { expiresText, maxAgeText } from './retry.ts';
import type { QueueManager } from './manager.ts';
import type { ScheduledQueue } from './scheduled-queue.ts';

export interface RestartSummary {
  requeued: number;
  expired: number;
  /** Left in the spool because their scheduled queue could not be resolved. */
  unresolved: number;
  corrupt: number;
}

/**
 * Start-up re-queue (engine.md §6.5, plus persisted state): every spooled
 * message goes back into its scheduled queue as a small index entry. Unlike
 * KumoMTA, the attempt count and due time stored with the message are kept,
 * so retry spacing survives a restart; a due time in the past means "now".
 */
export async function enumerateSpool(m: QueueManager): Promise<RestartSummary> {
  const summary: RestartSummary = { requeued: 0, expired: 0, unresolved: 0, corrupt: 0 };
  await m.spool.flush();
  const now = m.clock.now();
  const load = (id: string): Message | null => {
    try {
      return m.spool.load(id);
    } catch {
      return null;
    }
  };
  for (const entry of m.spool.enumerate()) {
    if (!/^[0-9a-f]{32}$/.test(entry.id)) {
      summary.corrupt++;
      void m.spool.remove(entry.id);
      continue;
    }
    let queueName = entry.queue;
    let msg: Message | null = null;
    if (m.hooks.spoolMessageEnumerated) {
      msg = load(entry.id);
      if (!msg) continue;
      await m.hooks.spoolMessageEnumerated(msg);
      await m.spool.save(msg);
    }
    if (queueName === '' || msg) {
      msg ??= load(entry.id);
      if (!msg) {
        summary.corrupt++;
        void m.spool.remove(entry.id);
        continue;
      }
      try {
        queueName = msg.queueName();
      } catch (err) {
        summary.expired++;
        await m.log(expirationEvent(msg, `Failed to compute queue name: ${(err as Error).message}`, 'localhost', null, null, ENH_5_1_3));
        await m.remove(msg);
        continue;
      }
    }
    let queue: ScheduledQueue;
    try {
      queue = await m.scheduled.resolve(queueName);
    } catch (err) {
      summary.unresolved++;
      m.diag(`spool enumeration: cannot resolve queue ${queueName} for ${entry.id}: ${(err as Error).message}`);
      continue;
    }
    const expires = entry.schedule ? Date.parse((JSON.parse(entry.schedule) as { expires?: string }).expires ?? '') : NaN;
    const expiredText = !Number.isNaN(expires)
      ? (now >= expires ? expiresText(now, expires) : null)
      : (() => {
          const age = now - createdFromId(entry.id);
          return age >= queue.config.maxAgeMs ? maxAgeText(age, queue.config.maxAgeMs) : null;
        })();
    if (expiredText !== null) {
      msg ??= load(entry.id);
      if (msg) {
        msg.numAttempts = entry.attempts;
        m.metrics.failedByQueue.inc(queueName);
        await m.log(expirationEvent(msg, expiredText, '', null, null));
        await m.remove(msg);
      }
      summary.expired++;
      continue;
    }
    const due = entry.due !== null && entry.due > now ? entry.due : now;
    queue.addParked(null, due, now, entry.id, entry.attempts, true);
    summary.requeued++;
  }
  return summary;
}
