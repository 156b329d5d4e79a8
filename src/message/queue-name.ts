import type { JsonValue } from '../util/json.ts';

/** The parts a scheduled-queue name breaks into (engine.md §1.3). */
export interface QueueNameComponents {
  campaign: string | null;
  tenant: string | null;
  domain: string;
  routingDomain: string | null;
}

export class QueueNameError extends Error {}

function routingString(meta: Record<string, JsonValue>, key: string): string | null {
  const v = meta[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new QueueNameError(`expected '${key}' to be a string value, got ${JSON.stringify(v)}`);
  return v;
}

/** Scheduled-queue name of a message from its meta and first recipient (lua-api.md §12.2). */
export function queueNameFor(meta: Record<string, JsonValue>, recipients: readonly string[]): string {
  const explicit = routingString(meta, 'queue');
  if (explicit !== null) return explicit;
  const campaign = routingString(meta, 'campaign');
  const tenant = routingString(meta, 'tenant');
  const routingDomain = routingString(meta, 'routing_domain');
  const first = recipients[0];
  if (first === undefined) throw new QueueNameError('message has no recipients');
  const domain = first.slice(first.lastIndexOf('@') + 1).toLowerCase();
  let name: string;
  if (campaign !== null) name = `${campaign}:${tenant ?? ''}@${domain}`;
  else if (tenant !== null) name = `${tenant}@${domain}`;
  else name = domain;
  return routingDomain !== null ? `${name}!${routingDomain}` : name;
}

export function parseQueueName(name: string): QueueNameComponents {
  let campaign: string | null = null;
  let tenant: string | null = null;
  let domainPart = name;
  const at = name.indexOf('@');
  if (at >= 0) {
    const prefix = name.slice(0, at);
    domainPart = name.slice(at + 1);
    const colon = prefix.indexOf(':');
    if (colon >= 0) {
      campaign = prefix.slice(0, colon);
      tenant = prefix.slice(colon + 1);
    } else {
      tenant = prefix;
    }
  }
  const bang = domainPart.indexOf('!');
  const domain = bang >= 0 ? domainPart.slice(0, bang) : domainPart;
  const routingDomain = bang >= 0 ? domainPart.slice(bang + 1) : null;
  return { campaign, tenant, domain, routingDomain };
}
