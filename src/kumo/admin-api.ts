/**
 * kumo.api.admin.{bounce, suspend, suspend_ready_q} (lua-api-more.md §3.9):
 * the admin operations of the HTTP API, called from Lua, over the same
 * AdminOps port. All sync. The Lua bounce only registers the rule (no
 * immediate sweep, unlike HTTP) and never suppresses logging; list() shows
 * durations as `{ secs, nanos }`.
 */
import { validate as isUuid } from 'uuid';
import type { LuaState } from '../lua/fengari.ts';
import { argString, checkTable } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import { ADMIN_OPS, type AdminCriteria, type AdminOps } from '../server/ports.ts';
import { ConfigError, StrictReader } from '../queue/config-reader.ts';
import { formatRfc3339, instantFromMs } from '../records/time-format.ts';
import { isJsonObject, toJsonText, type JsonObject, type JsonValue } from '../util/json.ts';
import { durationToSerde } from '../util/serde-duration.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

const DEFAULT_RULE_MS = 5 * 60_000;

/** Reads the request table; `known = null` is lenient (unknown keys ignored). */
function request<T>(L: LuaState, what: string, known: readonly string[] | null, read: (r: StrictReader) => T): T {
  checkTable(L, 1);
  const raw = toJson(L, 1);
  const obj: JsonObject = isJsonObject(raw) ? raw : {};
  try {
    return read(new StrictReader(obj, known ?? Object.keys(obj)));
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`${what}: deserialize error: ${err.message}, while processing ${toJsonText(raw)}`);
    throw err;
  }
}

/** `expires` (RFC 3339) wins over `duration` (default 5 minutes). */
function expiryOf(r: StrictReader, nowMs: number): number {
  const expires = r.string('expires');
  if (expires !== undefined) {
    const t = Date.parse(expires);
    if (Number.isNaN(t)) throw new ConfigError('expires', `invalid value for \`expires\`: ${JSON.stringify(expires)} is not an RFC 3339 time`);
    return t;
  }
  return nowMs + (r.durationMs('duration') ?? DEFAULT_RULE_MS);
}

function criteriaOf(r: StrictReader, withRouting: boolean): AdminCriteria {
  const names = r.array('queue_names') ?? [];
  if (names.some((n) => typeof n !== 'string')) throw new ConfigError('queue_names', 'invalid type for `queue_names`: expected a list of strings');
  return {
    campaign: r.string('campaign') ?? null,
    tenant: r.string('tenant') ?? null,
    domain: r.string('domain') ?? null,
    routingDomain: withRouting ? (r.string('routing_domain') ?? null) : null,
    queueNames: names as string[],
  };
}

function pushId(L: LuaState, id: string): number {
  pushText(L, id);
  return 1;
}

function idArg(L: LuaState, what: string): string {
  const id = argString(L, 1);
  if (!isUuid(id)) throw new Error(`${what}: ${JSON.stringify(id)} is not a UUID`);
  return id;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const admin = kumo.sub('api').sub('admin');
  const ops = (what: string): AdminOps => ctx.require(ADMIN_OPS, what);
  const now = () => ctx.clock.now();
  const remaining = (expiresMs: number): JsonValue => durationToSerde(Math.max(0, expiresMs - now()));
  const list = (L: LuaState, entries: JsonValue[]) => (pushJson(L, entries, { nullSentinel: true }), 1);
  const remover = (what: string, remove: (ops: AdminOps, id: string) => boolean) => (L: LuaState) => {
    const id = idArg(L, what);
    const removed = remove(ops(what), id);
    pushJson(L, removed);
    return 1;
  };

  const bounceKeys = ['campaign', 'tenant', 'domain', 'routing_domain', 'reason', 'duration', 'expires', 'queue_names', 'suppress_logging'];
  admin.sub('bounce').fns({
    bounce: (L) => {
      const what = 'kumo.api.admin.bounce.bounce';
      const rule = request(L, what, bounceKeys, (r) => ({ criteria: criteriaOf(r, true), reason: r.requiredString('reason'), expiresMs: expiryOf(r, now()) }));
      return pushId(L, ops(what).addBounce({ ...rule, suppressLogging: false, sweep: false }).id);
    },
    list: (L) =>
      list(L, ops('kumo.api.admin.bounce.list').listBounces().filter((b) => b.expiresMs > now()).map((b) => ({
        id: b.id, campaign: b.criteria.campaign ?? null, tenant: b.criteria.tenant ?? null, domain: b.criteria.domain ?? null,
        routing_domain: b.criteria.routingDomain ?? null, reason: b.reason, duration: remaining(b.expiresMs),
        bounced: b.bounced instanceof Map ? Object.fromEntries(b.bounced) : { ...b.bounced }, total_bounced: b.totalBounced,
      }))),
    delete: remover('kumo.api.admin.bounce.delete', (o, id) => o.deleteBounce(id)),
  });

  admin.sub('suspend').fns({
    suspend: (L) => {
      const what = 'kumo.api.admin.suspend.suspend';
      const rule = request(L, what, null, (r) => ({ criteria: criteriaOf(r, false), reason: r.requiredString('reason'), expiresMs: expiryOf(r, now()) }));
      return pushId(L, ops(what).addSuspend(rule).id);
    },
    list: (L) =>
      list(L, ops('kumo.api.admin.suspend.list').listSuspends().filter((s) => s.expiresMs > now()).map((s) => ({
        id: s.id, campaign: s.criteria.campaign ?? null, tenant: s.criteria.tenant ?? null, domain: s.criteria.domain ?? null,
        reason: s.reason, duration: remaining(s.expiresMs),
      }))),
    delete: remover('kumo.api.admin.suspend.delete', (o, id) => o.deleteSuspend(id)),
  });

  admin.sub('suspend_ready_q').fns({
    suspend: (L) => {
      const what = 'kumo.api.admin.suspend_ready_q.suspend';
      const rule = request(L, what, null, (r) => ({ name: r.requiredString('name'), reason: r.requiredString('reason'), expiresMs: expiryOf(r, now()) }));
      return pushId(L, ops(what).suspendReadyQueue(rule).id);
    },
    list: (L) =>
      list(L, ops('kumo.api.admin.suspend_ready_q.list').listReadyQueueSuspensions().filter((s) => s.expiresMs > now()).map((s) => ({
        id: s.id, name: s.name, reason: s.reason, duration: remaining(s.expiresMs), expires: formatRfc3339(instantFromMs(s.expiresMs)),
      }))),
    delete: remover('kumo.api.admin.suspend_ready_q.delete', (o, id) => o.deleteReadyQueueSuspension(id)),
  });
}
