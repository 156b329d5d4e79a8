/**
 * What the engine asks the policy: queue and egress path configuration and
 * the optional engine events, each answered by firing the Lua event.
 */
import type { KumoContext } from '../kumo/context.ts';
import { DnsMxResolver } from '../delivery/smtp/dns-resolver.ts';
import { processDns } from '../dns/index.ts';
import { DNS_SERVICE } from '../kumo/dns.ts';
import { lua } from '../lua/fengari.ts';
import { pushText } from '../lua/strings.ts';
import { pushJson } from '../lua/marshal.ts';
import { LuaError } from '../lua/errors.ts';
import { asRejection } from '../kumo/reject.ts';
import { egressPathFromLua, queueConfigFromLua } from '../kumo/config.ts';
import { pushMessage } from '../message/lua-binding.ts';
import { defaultQueueConfig, type QueueConfig } from '../queue/queue-config.ts';
import { parseEgressPathConfig, type EgressPathConfig } from '../queue/egress-path-config.ts';
import type { EngineHooks } from '../queue/engine-context.ts';
import type { QueueConfigResolver } from '../queue/queue-registry.ts';
import type { EgressPathResolver } from '../queue/ready-registry.ts';
import type { SmtpServices } from '../delivery/smtp/ports.ts';

function pushOptional(co: Parameters<typeof pushText>[0], v: string | null): void {
  if (v === null) lua.lua_pushnil(co);
  else pushText(co, v);
}

/** `get_queue_config(domain, tenant, campaign, routing_domain)`; defaults when no handler answers. */
export function queueConfigResolver(ctx: KumoContext): QueueConfigResolver {
  return async (domain, tenant, campaign, routingDomain): Promise<QueueConfig> => {
    const r = await ctx.events.dispatch(
      'get_queue_config',
      (co) => {
        pushText(co, domain);
        pushOptional(co, tenant);
        pushOptional(co, campaign);
        pushOptional(co, routingDomain);
        return 4;
      },
      (co) => queueConfigFromLua(co, 1),
    );
    return r.handled ? r.value : defaultQueueConfig();
  };
}

/** `get_egress_path_config(routing_domain, egress_source, site_name)`. */
export function egressPathResolver(ctx: KumoContext): EgressPathResolver {
  return async (routingDomain, egressSource, siteName): Promise<EgressPathConfig> => {
    const r = await ctx.events.dispatch(
      'get_egress_path_config',
      (co) => {
        pushText(co, routingDomain);
        pushText(co, egressSource);
        pushText(co, siteName);
        return 3;
      },
      (co) => egressPathFromLua(co, 1),
    );
    return r.handled ? r.value : parseEgressPathConfig({});
  };
}

/** The engine events a policy may handle; unregistered ones cost nothing. */
export function engineHooks(ctx: KumoContext): EngineHooks {
  const events = ctx.events;
  return {
    requeueMessage: async (msg, responseLine, context, incrementAttempts, delayMs) => {
      if (!events.has('requeue_message')) return;
      try {
        await events.fire('requeue_message', (co) => {
          pushMessage(co, msg);
          pushText(co, responseLine);
          pushJson(co, context);
          lua.lua_pushboolean(co, incrementAttempts);
          if (delayMs === null) lua.lua_pushnil(co);
          else pushText(co, `${Math.round(delayMs / 1000)}s`);
          return 5;
        });
      } catch (e) {
        const rejection = e instanceof LuaError ? asRejection(e.payload) : undefined;
        if (rejection) return { reject: { code: rejection.code, text: rejection.text } };
        throw e;
      }
    },
    throttleInsertReadyQueue: async (msg) => {
      if (!events.has('throttle_insert_ready_queue')) return;
      await events.fire('throttle_insert_ready_queue', (co) => (pushMessage(co, msg), 1));
    },
    rebindMessage: async (msg, data) => {
      if (!events.has('rebind_message')) return false;
      await events.fire('rebind_message', (co) => (pushMessage(co, msg), pushJson(co, data), 2));
      return true;
    },
    spoolMessageEnumerated: async (msg) => {
      if (!events.has('spool_message_enumerated')) return;
      await events.fire('spool_message_enumerated', (co) => (pushMessage(co, msg), 1));
    },
    diagnostic: (text) => ctx.log.write('warn', text),
  };
}

/** `smtp_client_rewrite_delivery_status(response, domain, tenant, campaign, routing_domain)` → integer or nil. */
export function smtpPolicyServices(ctx: KumoContext): Partial<SmtpServices> {
  return {
    // MX and address lookups use the resolver kumo.dns configures (configure_resolver, configure_test_resolver).
    resolver: new DnsMxResolver(() => ctx.optional(DNS_SERVICE) ?? processDns),
    rewriteDeliveryStatus: async (line, domain, tenant, campaign, routingDomain) => {
      if (!ctx.events.has('smtp_client_rewrite_delivery_status')) return null;
      const r = await ctx.events.dispatch(
        'smtp_client_rewrite_delivery_status',
        (co) => {
          pushText(co, line);
          pushText(co, domain);
          pushOptional(co, tenant);
          pushOptional(co, campaign);
          pushText(co, routingDomain);
          return 5;
        },
        (co, n) => (n > 0 && lua.lua_isinteger(co, 1) ? Number(lua.lua_tointeger(co, 1)) : null),
      );
      return r.handled ? r.value : null;
    },
  };
}
