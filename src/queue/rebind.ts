/**
 * Admin rebind (`/api/admin/rebind/v1`, lua-api-more.md §8.4): every message
 * parked in a matching scheduled queue either goes through the
 * `rebind_message(msg, data)` event (`trigger_rebind_event`) or gets `data`
 * copied into its meta; then it is saved, its queue recomputed, and it is
 * moved (due now) when the queue changed or `always_flush`, logging
 * `AdminRebind` on a queue change unless `suppress_logging`. A message whose
 * queue did not change (and no flush) goes back where it was, due as before.
 */
import type { Message } from '../message/message.ts';
import type { QueueCriteria } from './admin-rules.ts';
import { criteriaMatch } from './admin-rules.ts';
import { InsertContext } from './insert-context.ts';
import type { QueueManager } from './manager.ts';
import { response } from './queue-records.ts';

export interface RebindRequest {
  reason: string;
  data: Record<string, string>;
  alwaysFlush: boolean;
  suppressLogging: boolean;
  triggerRebindEvent: boolean;
}

/** Rebinds every parked message of the matching queues; resolves with how many messages were looked at. */
export async function rebindQueues(m: QueueManager, criteria: QueueCriteria, req: RebindRequest): Promise<number> {
  let count = 0;
  for (const queue of m.scheduled.queues()) {
    if (!criteriaMatch(criteria, queue.name)) continue;
    for (const entry of queue.takeAllParked()) {
      const msg = entry.msg ?? m.spool.load(entry.id);
      if (!msg) continue;
      msg.due = entry.due;
      msg.numAttempts = entry.attempts;
      count++;
      await rebindOne(m, msg, queue.name, req);
    }
  }
  return count;
}

async function applyData(m: QueueManager, msg: Message, req: RebindRequest): Promise<void> {
  if (!req.triggerRebindEvent) {
    for (const [k, v] of Object.entries(req.data)) msg.setMeta(k, v);
    return;
  }
  const hook = m.hooks.rebindMessage;
  try {
    const fired = hook ? await hook(msg, req.data) : false;
    if (!fired) m.diag(`admin rebind of ${msg.id}: trigger_rebind_event is set but no rebind_message handler is registered`);
  } catch (err) {
    m.diag(`rebind_message event failed for ${msg.id}: ${(err as Error).message}`);
  }
}

async function rebindOne(m: QueueManager, msg: Message, before: string, req: RebindRequest): Promise<void> {
  await applyData(m, msg, req);
  try {
    await m.spool.save(msg);
  } catch (err) {
    m.diag(`admin rebind: failed to save ${msg.id}: ${(err as Error).message}`);
  }
  let after = before;
  try {
    after = msg.queueName();
  } catch (err) {
    m.diag(`admin rebind left ${msg.id} with a bad queue name (${(err as Error).message}); keeping ${before}`);
  }
  const changed = after !== before;
  const now = m.clock.now();
  if (changed || req.alwaysFlush) msg.due = now;
  if (changed && !req.suppressLogging) {
    await m.log({ type: 'AdminRebind', message: msg, response: response(250, null, `Rebound from ${before} to ${after}: ${req.reason}`), site: '' });
  }
  try {
    const queue = await m.scheduled.resolve(after);
    // Untouched: back among the parked entries, due as before, no Delayed record.
    if (!changed && !req.alwaysFlush) return queue.addParked(msg, msg.due ?? now, now);
    await queue.insert(msg, new InsertContext(['AdminRebind']));
  } catch (err) {
    m.diag(`admin rebind: cannot queue ${msg.id} in ${after}: ${(err as Error).message}; it stays in the spool`);
    await m.saveAndDrop(msg);
  }
}
