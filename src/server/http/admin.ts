/**
 * The `/api/admin/*` endpoints (engine.md §8.6–§8.10, §8.12) with KumoMTA's
 * paths, parameters and JSON shapes, over the AdminOps port.
 */
import type { Message } from '../../message/message.ts';
import { parseDurationMs } from '../../logging/humantime.ts';
import { formatRfc3339, instantFromMs } from '../../records/time-format.ts';
import type { Clock } from '../../util/clock.ts';
import { fromJsonText, isJsonObject, toJsonText, type JsonObject, type JsonValue } from '../../util/json.ts';
import type { AdminCriteria, AdminOps } from '../ports.ts';
import { HttpError, jsonText, text, type HttpReply } from './reply.ts';

const DEFAULT_RULE_MS = 5 * 60_000;

const rfc3339 = (ms: number) => formatRfc3339(instantFromMs(ms));

const UNITS: [string, number][] = [
  ['year', 31_557_600_000], ['month', 2_630_016_000], ['day', 86_400_000],
  ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1],
];

/** humantime-style remaining duration, e.g. `4m 59s 998ms`. */
export function formatHumantime(ms: number): string {
  let rest = Math.max(0, Math.floor(ms));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n === 0) continue;
    const plural = unit.length > 2 && n > 1 ? 's' : '';
    parts.push(`${n}${unit}${plural}`);
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

function bodyObject(body: string, allowed: readonly string[]): JsonObject {
  let v: JsonValue;
  try {
    v = fromJsonText(body);
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(v)) throw new HttpError(400, 'request body: expected a JSON object');
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new HttpError(400, `${k}: unknown field`);
  return v;
}

function optField(o: JsonObject, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new HttpError(400, `${key}: expected a string`);
  return v;
}

function reqField(o: JsonObject, key: string): string {
  const v = optField(o, key);
  if (v === null) throw new HttpError(400, `${key}: missing field`);
  return v;
}

function queueNames(o: JsonObject): string[] {
  const v = o.queue_names;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, 'queue_names: expected a list of strings');
  return v as string[];
}

/** `expires` (RFC 3339) wins over `duration` (humantime, default 5 minutes). */
function expiryOf(o: JsonObject, nowMs: number): number {
  const expires = optField(o, 'expires');
  if (expires !== null) {
    const t = Date.parse(expires);
    if (Number.isNaN(t)) throw new HttpError(400, `expires: invalid RFC 3339 time ${JSON.stringify(expires)}`);
    return t;
  }
  const duration = optField(o, 'duration');
  if (duration === null) return nowMs + DEFAULT_RULE_MS;
  try {
    return nowMs + parseDurationMs('duration', duration);
  } catch (e) {
    throw new HttpError(400, (e as Error).message);
  }
}

function countsJson(m: Map<string, number> | Record<string, number>): JsonObject {
  return m instanceof Map ? Object.fromEntries(m) : { ...m };
}

export function messageInfoJson(msg: Message, wantBody: boolean): JsonObject {
  const info: JsonObject = {
    sender: msg.sender,
    recipient: msg.recipients.length === 1 ? msg.recipients[0]! : [...msg.recipients],
    meta: msg.metaObject(),
    data: wantBody ? Buffer.from(msg.getData()).toString('utf8') : null,
  };
  if (msg.due !== null) info.due = rfc3339(msg.due);
  info.num_attempts = msg.numAttempts;
  if (msg.scheduling) info.scheduling = { ...msg.scheduling } as JsonObject;
  return info;
}

function boolParam(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new HttpError(400, `${key}: expected true or false`);
}

export class AdminApi {
  constructor(
    private readonly ops: AdminOps | undefined,
    private readonly clock: Clock,
  ) {}

  private get admin(): AdminOps {
    if (!this.ops) throw new HttpError(503, 'the queue engine admin API is not available');
    return this.ops;
  }

  /** Routes `/api/admin/...`; null when the path is not an admin endpoint. */
  async route(method: string, path: string, query: URLSearchParams, body: () => Promise<string>): Promise<HttpReply | null> {
    const now = this.clock.now();
    switch (`${method} ${path}`) {
      case 'POST /api/admin/bounce/v1': {
        const o = bodyObject(await body(), ['campaign', 'tenant', 'domain', 'routing_domain', 'queue_names', 'reason', 'duration', 'expires', 'suppress_logging']);
        const criteria: AdminCriteria = {
          campaign: optField(o, 'campaign'), tenant: optField(o, 'tenant'), domain: optField(o, 'domain'),
          routingDomain: optField(o, 'routing_domain'), queueNames: queueNames(o),
        };
        const suppress = o.suppress_logging ?? false;
        if (typeof suppress !== 'boolean') throw new HttpError(400, 'suppress_logging: expected true or false');
        const { id } = this.admin.addBounce({ criteria, reason: reqField(o, 'reason'), expiresMs: expiryOf(o, now), suppressLogging: suppress });
        return jsonText(200, toJsonText({ id, bounced: {}, total_bounced: 0 }));
      }
      case 'GET /api/admin/bounce/v1':
        return jsonText(200, toJsonText(this.admin.listBounces().filter((b) => b.expiresMs > now).map((b) => ({
          id: b.id, campaign: b.criteria.campaign ?? null, tenant: b.criteria.tenant ?? null, domain: b.criteria.domain ?? null,
          routing_domain: b.criteria.routingDomain ?? null, reason: b.reason, duration: formatHumantime(b.expiresMs - now),
          bounced: countsJson(b.bounced), total_bounced: b.totalBounced,
        }))));
      case 'DELETE /api/admin/bounce/v1':
        return this.deleteEntry(await body(), 'bounce', (id) => this.admin.deleteBounce(id));
      case 'POST /api/admin/suspend/v1': {
        const o = bodyObject(await body(), ['campaign', 'tenant', 'domain', 'queue_names', 'reason', 'duration', 'expires']);
        const criteria: AdminCriteria = { campaign: optField(o, 'campaign'), tenant: optField(o, 'tenant'), domain: optField(o, 'domain'), queueNames: queueNames(o) };
        const { id } = this.admin.addSuspend({ criteria, reason: reqField(o, 'reason'), expiresMs: expiryOf(o, now) });
        return jsonText(200, toJsonText({ id }));
      }
      case 'GET /api/admin/suspend/v1':
        return jsonText(200, toJsonText(this.admin.listSuspends().filter((s) => s.expiresMs > now).map((s) => ({
          id: s.id, campaign: s.criteria.campaign ?? null, tenant: s.criteria.tenant ?? null, domain: s.criteria.domain ?? null,
          reason: s.reason, duration: formatHumantime(s.expiresMs - now),
        }))));
      case 'DELETE /api/admin/suspend/v1':
        return this.deleteEntry(await body(), 'suspend', (id) => this.admin.deleteSuspend(id));
      case 'POST /api/admin/suspend-ready-q/v1': {
        const o = bodyObject(await body(), ['name', 'reason', 'duration', 'expires']);
        const { id } = this.admin.suspendReadyQueue({ name: reqField(o, 'name'), reason: reqField(o, 'reason'), expiresMs: expiryOf(o, now) });
        return jsonText(200, toJsonText({ id }));
      }
      case 'GET /api/admin/suspend-ready-q/v1':
        return jsonText(200, toJsonText(this.admin.listReadyQueueSuspensions().filter((s) => s.expiresMs > now).map((s) => ({
          id: s.id, name: s.name, reason: s.reason, duration: formatHumantime(s.expiresMs - now), expires: rfc3339(s.expiresMs),
        }))));
      case 'DELETE /api/admin/suspend-ready-q/v1':
        return this.deleteEntry(await body(), 'suspend-ready-q', (id) => this.admin.deleteReadyQueueSuspension(id));
      case 'POST /api/admin/rebind/v1':
        return this.rebind(await body());
      case 'GET /api/admin/inspect-sched-q/v1':
        return this.inspectScheduledQueue(query, now);
      case 'GET /api/admin/ready-q-states/v1':
        return this.readyQueueStates();
      case 'GET /api/admin/inspect-message/v1':
        return this.inspectMessage(query);
    }
    return null;
  }

  /** `POST /api/admin/rebind/v1`: answers once every matching parked message has been rebound. */
  private async rebind(body: string): Promise<HttpReply> {
    const o = bodyObject(body, ['campaign', 'tenant', 'domain', 'routing_domain', 'queue_names', 'reason', 'data', 'always_flush', 'suppress_logging', 'trigger_rebind_event']);
    const criteria: AdminCriteria = {
      campaign: optField(o, 'campaign'), tenant: optField(o, 'tenant'), domain: optField(o, 'domain'),
      routingDomain: optField(o, 'routing_domain'), queueNames: queueNames(o),
    };
    const data = o.data ?? {};
    if (!isJsonObject(data) || Object.values(data).some((v) => typeof v !== 'string')) throw new HttpError(400, 'data: expected an object of strings');
    const flag = (key: string): boolean => {
      const v = o[key] ?? false;
      if (typeof v !== 'boolean') throw new HttpError(400, `${key}: expected true or false`);
      return v;
    };
    await this.admin.rebind({
      criteria, reason: reqField(o, 'reason'), data: data as Record<string, string>,
      alwaysFlush: flag('always_flush'), suppressLogging: flag('suppress_logging'), triggerRebindEvent: flag('trigger_rebind_event'),
    });
    return jsonText(200, toJsonText({}));
  }

  private deleteEntry(body: string, kind: string, remove: (id: string) => boolean): HttpReply {
    const id = reqField(bodyObject(body, ['id']), 'id');
    return remove(id) ? text(200, `removed ${id}`) : text(404, `${kind} entry ${id} not found`);
  }

  private inspectScheduledQueue(query: URLSearchParams, now: number): HttpReply {
    const name = query.get('queue_name');
    if (!name) throw new HttpError(400, 'queue_name: missing query parameter');
    const wantBody = boolParam(query, 'want_body');
    const limitText = query.get('limit');
    const limit = limitText === null || limitText === '' ? null : Number(limitText);
    if (limit !== null && (!Number.isInteger(limit) || limit < 0)) throw new HttpError(400, 'limit: expected a non-negative integer');
    const q = this.admin.inspectScheduledQueue(name, limit);
    if (!q) throw new HttpError(404, `no such queue ${name}`);
    const messages = (limit === null ? q.messages : q.messages.slice(0, limit)).map((m) => ({ id: m.id, message: messageInfoJson(m, wantBody) }));
    for (const m of q.messages) m.shrink();
    return jsonText(200, toJsonText({
      queue_name: name, messages, num_scheduled: q.numScheduled, queue_config: q.queueConfig,
      delayed_metric: q.delayedMetric, now: rfc3339(now), last_changed: rfc3339(q.lastChangedMs),
    }));
  }

  private readyQueueStates(): HttpReply {
    const raw = this.admin.readyQueueStates();
    const entries = raw instanceof Map ? [...raw.entries()] : Object.entries(raw);
    const states: JsonObject = {};
    for (const [rq, byState] of entries) {
      const out: JsonObject = {};
      for (const [state, s] of Object.entries(byState)) out[state] = { context: s.context, since: rfc3339(s.sinceMs) };
      if (Object.keys(out).length > 0) states[rq] = out;
    }
    return jsonText(200, toJsonText({ states_by_ready_queue: states }));
  }

  private async inspectMessage(query: URLSearchParams): Promise<HttpReply> {
    const id = query.get('id');
    if (!id) throw new HttpError(400, 'id: missing query parameter');
    const wantBody = boolParam(query, 'want_body');
    const msg = await this.admin.inspectMessage(id);
    if (!msg) throw new HttpError(404, `message ${id} not found`);
    return jsonText(200, toJsonText({ id: msg.id, message: messageInfoJson(msg, wantBody) }));
  }
}
