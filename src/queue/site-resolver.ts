/**
 * The seam between source selection and a protocol's idea of "site"
 * (lua-api-more.md §1.4): the ready queue is `<source>-><site>@<proto>` and
 * `get_egress_path_config(routing_domain, source, site)` receives the same
 * site. Every protocol but SMTP uses the routing domain; SMTP plugs in a
 * resolver returning the MX site name (or `mx_list:<labels>`).
 */
import type { QueueProtocol } from './queue-config.ts';
import type { ScheduledQueue } from './scheduled-queue.ts';

export interface SiteResolver {
  /** The site name for a scheduled queue whose routing domain is `routingDomain`; may do DNS. */
  siteName(queue: ScheduledQueue, routingDomain: string): Promise<string>;
}

export type SiteResolvers = Partial<Record<QueueProtocol['kind'], SiteResolver>>;

/** `routing_domain` component, else `domain` (lua-api-more.md §1.4 "R"). */
export function routingDomainOf(queue: ScheduledQueue): string {
  return queue.components.routingDomain ?? queue.components.domain;
}

export const ROUTING_DOMAIN_SITE: SiteResolver = {
  siteName: async (_queue, routingDomain) => routingDomain,
};

/** The ready-queue name suffix per protocol (engine.md §1.9). */
export function protocolSuffix(protocol: QueueProtocol): string {
  switch (protocol.kind) {
    case 'custom_lua':
      return `lua:${protocol.constructor}`;
    case 'maildir':
      return `maildir:${protocol.maildirPath}`;
    case 'smtp':
      return 'smtp_client';
    case 'xfer':
      return 'xfer';
    case 'null':
      return 'null';
  }
}
