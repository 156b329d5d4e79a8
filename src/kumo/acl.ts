/**
 * ACLs (lua-api-more.md §3.8): kumo.aaa.make_access_control_list(rules),
 * kumo.aaa.load_acl_map(keysource) and the `get_acl_definition(resource)`
 * event, which the HTTP listener consults for every candidate resource before
 * the built-in default map (unless kumo.aaa.set_fall_back_to_acl_map(false)).
 *
 * Rule forms kumo-lua reads (unknown keys and forms are errors):
 *   Lua:  { criteria = { Identity = <who> }, privilege = 'GET', access = 'Allow'|'Deny' }
 *   TOML: [[acl."<resource>"]] allow = true|false, privileges = ["GET", ...], identity.<who>
 *   <who>: Group = '<group>' | Identity = '<identity>' | Any = {} | Authenticated = {} | Unauthenticated = {}
 */
import { parse as parseToml } from 'smol-toml';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString as argText, checkTable } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { toJson } from '../lua/marshal.ts';
import { pushText } from '../lua/strings.ts';
import { LuaClass } from '../lua/userdata.ts';
import { DEFAULT_ACL, type AclLookup, type AclRule, type Criterion } from '../server/http/acl.ts';
import { isJsonObject, type JsonValue } from '../util/json.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';
import { readKeySource, resolveKeySource } from './support/key-source.ts';

export interface AclSettings {
  fallBackToAclMap: boolean;
}

export const ACL_SETTINGS = new ServiceSlot<AclSettings>('the ACL settings (kumo.aaa.set_fall_back_to_acl_map)');

export function aclSettings(ctx: KumoContext): AclSettings {
  let s = ctx.optional(ACL_SETTINGS);
  if (!s) ctx.provide(ACL_SETTINGS, (s = { fallBackToAclMap: true }));
  return s;
}

export const ACL = new LuaClass<readonly AclRule[]>({ name: 'ACL' });

export const ACL_MAP: LuaClass<ReadonlyMap<string, readonly AclRule[]>> = new LuaClass<ReadonlyMap<string, readonly AclRule[]>>({
  name: 'ACLMap',
  methods: {
    get: (L) => {
      const rules = ACL_MAP.check(L, 1).get(argText(L, 2));
      if (rules) ACL.push(L, rules);
      else lua.lua_pushnil(L);
      return 1;
    },
  },
});

const WHO_FORMS = 'Group, Identity, Any, Authenticated or Unauthenticated';

function onlyKeys(what: string, o: Record<string, JsonValue>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${what}: unknown field '${k}', expected one of ${allowed.join(', ')}`);
}

function criterionOf(what: string, v: JsonValue | undefined): Criterion {
  if (!isJsonObject(v) || Object.keys(v).length !== 1) throw new Error(`${what}: expected a table with exactly one of ${WHO_FORMS}`);
  const [kind, arg] = Object.entries(v)[0]!;
  switch (kind) {
    case 'Group':
    case 'Identity':
      if (typeof arg !== 'string') throw new Error(`${what}.${kind}: expected a string`);
      return { kind, name: arg };
    case 'Any':
      return { kind: 'Anyone' };
    case 'Authenticated':
    case 'Unauthenticated':
      return { kind };
    default:
      throw new Error(`${what}: unknown identity form '${kind}', expected one of ${WHO_FORMS}`);
  }
}

function stringList(what: string, v: JsonValue | undefined): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${what}: expected a list of strings`);
  return v as string[];
}

/** One rule of make_access_control_list. */
export function luaRule(what: string, v: JsonValue): AclRule {
  if (!isJsonObject(v)) throw new Error(`${what}: expected a rule table`);
  onlyKeys(what, v, ['criteria', 'privilege', 'access']);
  const criteria = v.criteria;
  if (!isJsonObject(criteria)) throw new Error(`${what}.criteria: expected a table like { Identity = { Group = '...' } }`);
  onlyKeys(`${what}.criteria`, criteria, ['Identity']);
  const criterion = criterionOf(`${what}.criteria.Identity`, criteria.Identity);
  if (typeof v.privilege !== 'string') throw new Error(`${what}.privilege: expected a string`);
  if (v.access !== 'Allow' && v.access !== 'Deny') throw new Error(`${what}.access: expected 'Allow' or 'Deny'`);
  return { criterion, methods: [v.privilege], access: v.access };
}

/** An ACL map file (TOML): `acl."<resource>"` is a list of rules. */
export function parseAclMap(text: string, what = 'kumo.aaa.load_acl_map'): Map<string, AclRule[]> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${what}: invalid TOML: ${(e as Error).message}`);
  }
  const top = JSON.parse(JSON.stringify(doc)) as JsonValue;
  if (!isJsonObject(top)) throw new Error(`${what}: expected a TOML document`);
  onlyKeys(what, top, ['acl']);
  const acl = top.acl ?? {};
  if (!isJsonObject(acl)) throw new Error(`${what}: acl must be a table of resources`);
  const out = new Map<string, AclRule[]>();
  for (const [resource, rules] of Object.entries(acl)) {
    if (!Array.isArray(rules)) throw new Error(`${what}: acl."${resource}" must be a list of rules ([[acl."${resource}"]])`);
    out.set(resource, rules.map((r, i) => {
      const rw = `${what}: acl."${resource}"[${i + 1}]`;
      if (!isJsonObject(r)) throw new Error(`${rw}: expected a table`);
      onlyKeys(rw, r, ['allow', 'privileges', 'identity']);
      if (typeof r.allow !== 'boolean') throw new Error(`${rw}.allow: expected true or false`);
      return { criterion: criterionOf(`${rw}.identity`, r.identity), methods: stringList(`${rw}.privileges`, r.privileges), access: r.allow ? 'Allow' : 'Deny' };
    }));
  }
  return out;
}

/** The HTTP listener's ACL source: the get_acl_definition event, then (unless disabled) the default map. */
export function aclLookupFor(ctx: KumoContext): AclLookup {
  const settings = aclSettings(ctx);
  return async (resource) => {
    if (ctx.events.has('get_acl_definition')) {
      const r = await ctx.events.dispatch('get_acl_definition', (co) => (pushText(co, resource), 1), (co, n) => {
        if (n === 0 || lua.lua_isnil(co, 1)) return undefined;
        const rules = ACL.test(co, 1);
        if (!rules) throw new Error('get_acl_definition must return an ACL (kumo.aaa.make_access_control_list, or an ACL map :get()) or nil');
        return rules;
      });
      if (r.handled && r.value) return r.value;
    }
    return settings.fallBackToAclMap ? DEFAULT_ACL.get(resource) : undefined;
  };
}

export function registerAcl(aaa: ModuleTable, ctx: KumoContext): void {
  aaa.fn('make_access_control_list', (L: LuaState) => {
    checkTable(L, 1);
    const raw = toJson(L, 1);
    const list = Array.isArray(raw) ? raw : isJsonObject(raw) && Object.keys(raw).length === 0 ? [] : null;
    if (!list) throw new Error('kumo.aaa.make_access_control_list: expected a list of rules');
    ACL.push(L, list.map((r, i) => luaRule(`kumo.aaa.make_access_control_list: rule ${i + 1}`, r)));
    return 1;
  });
  aaa.fn(
    'load_acl_map',
    asyncFunction('kumo.aaa.load_acl_map', async (L) => {
      const source = readKeySource(L, 1);
      const map = parseAclMap(Buffer.from(await resolveKeySource(source, ctx)).toString('utf8'));
      return (Lr: LuaState) => (ACL_MAP.push(Lr, map), 1);
    }),
  );
}
