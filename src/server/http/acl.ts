/**
 * Access rules for HTTP paths (engine.md §8.2). Resources are tried from the
 * most specific (this listener, full path) to the least (any listener, first
 * path segment, then `http_listener`); the first resource with a rule that
 * matches the caller and the method decides; nothing deciding means deny.
 */
import { TRUSTED_IP_GROUP, type AuthInfo } from './auth.ts';

export type Criterion =
  | { kind: 'Anyone' }
  | { kind: 'Authenticated' }
  | { kind: 'Unauthenticated' }
  | { kind: 'Group'; name: string }
  | { kind: 'Identity'; name: string };

export interface AclRule {
  criterion: Criterion;
  methods: readonly string[];
  access: 'Allow' | 'Deny';
}

export type AclMap = ReadonlyMap<string, readonly AclRule[]>;

const trusted: Criterion = { kind: 'Group', name: TRUSTED_IP_GROUP };
const allow = (criterion: Criterion, ...methods: string[]): AclRule => ({ criterion, methods, access: 'Allow' });

/** KumoMTA's built-in defaults. */
export const DEFAULT_ACL: AclMap = new Map<string, AclRule[]>([
  ['http_listener/*/api/check-liveness', [allow({ kind: 'Anyone' }, 'GET')]],
  ['http_listener/*/rapidoc', [allow({ kind: 'Anyone' }, 'GET')]],
  ['http_listener/*/api-docs/openapi.json', [allow({ kind: 'Anyone' }, 'GET')]],
  ['http_listener/*/api/inject', [allow(trusted, 'POST'), allow({ kind: 'Authenticated' }, 'POST')]],
  ['http_listener/*/api/admin', [allow(trusted, 'GET', 'POST', 'DELETE')]],
  ['http_listener/*/api/machine-info', [allow(trusted, 'GET')]],
  ['http_listener/*/metrics', [allow(trusted, 'GET')]],
  ['http_listener/*/metrics.json', [allow(trusted, 'GET')]],
  ['http_listener/*/api/xfer', [allow(trusted, 'POST')]],
]);

function matches(c: Criterion, who: AuthInfo): boolean {
  switch (c.kind) {
    case 'Anyone':
      return true;
    case 'Authenticated':
      return who.identities.length > 0;
    case 'Unauthenticated':
      return who.identities.length === 0;
    case 'Group':
      return who.groups.includes(c.name);
    case 'Identity':
      return who.identities.some((i) => i.identity === c.name);
  }
}

/** Resource ids for a path on a listener, most specific first. */
export function candidateResources(listenerName: string, path: string): string[] {
  const segments = path.split('/').filter((s) => s.length > 0);
  const out: string[] = [];
  for (let n = segments.length; n >= 1; n--) out.push(`http_listener/${listenerName}/${segments.slice(0, n).join('/')}`);
  out.push(`http_listener/${listenerName}`);
  for (let n = segments.length; n >= 1; n--) out.push(`http_listener/*/${segments.slice(0, n).join('/')}`);
  out.push('http_listener');
  return out;
}

export type AclDecision = { allowed: true } | { allowed: false; reason: string };

/** The first rule matching the caller and the privilege decides; null when none matches. */
export function decide(rules: readonly AclRule[], privilege: string, who: AuthInfo): 'Allow' | 'Deny' | null {
  for (const rule of rules) {
    if (rule.methods.includes(privilege) && matches(rule.criterion, who)) return rule.access;
  }
  return null;
}

function decision(access: 'Allow' | 'Deny' | null, resource: string, method: string, summary: string): AclDecision | null {
  if (access === 'Allow') return { allowed: true };
  if (access === 'Deny') return { allowed: false, reason: `${summary} denied ${method} on ${resource}` };
  return null;
}

export function checkAccess(acl: AclMap, listenerName: string, path: string, method: string, who: AuthInfo, summary: string): AclDecision {
  const resources = candidateResources(listenerName, path);
  for (const resource of resources) {
    const rules = acl.get(resource);
    const d = rules ? decision(decide(rules, method, who), resource, method, summary) : null;
    if (d) return d;
  }
  return { allowed: false, reason: `${summary} not permitted ${method} on ${resources[0] ?? 'http_listener'}` };
}

/** The ACL of one resource, or undefined (e.g. from the `get_acl_definition` event, then the default map). */
export type AclLookup = (resource: string) => Promise<readonly AclRule[] | undefined>;

/** checkAccess with each resource's ACL looked up in turn (lua-api-more.md §3.8). */
export async function checkAccessVia(lookup: AclLookup, listenerName: string, path: string, method: string, who: AuthInfo, summary: string): Promise<AclDecision> {
  const resources = candidateResources(listenerName, path);
  for (const resource of resources) {
    const rules = await lookup(resource);
    const d = rules ? decision(decide(rules, method, who), resource, method, summary) : null;
    if (d) return d;
  }
  return { allowed: false, reason: `${summary} not permitted ${method} on ${resources[0] ?? 'http_listener'}` };
}
