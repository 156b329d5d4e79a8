/**
 * kumo.spf.check_host / check_msg (lua-api-more.md §5.4). The client IP, EHLO
 * name and our hostname come from connection (or message) meta:
 * `received_from`, `ehlo_domain`, `hostname`.
 */
import ipaddr from 'ipaddr.js';
import { type LuaState, LUA_TSTRING, LUA_TTABLE, lua } from '../lua/fengari.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { argString, typeNameOrNone } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { toText } from '../lua/strings.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';
import { ConnectionMetaClass } from '../server/smtp/conn-meta.ts';
import { checkMessage } from '../message/lua-binding.ts';
import { checkSpf, type SpfOutcome, type SpfRequest } from '../auth/spf.ts';
import { authenticationResultJson } from '../auth/authentication-results.ts';
import { authResolver } from '../auth/dns-port.ts';

/** `ip:port`, `[v6]:port` or a bare address (HTTP injection records only the IP). */
export function clientIpOf(receivedFrom: string): string | undefined {
  const text = receivedFrom.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return ipaddr.isValid(bracketed[1]!) ? bracketed[1] : undefined;
  if (ipaddr.isValid(text)) return text;
  const v4 = /^([\d.]+):\d+$/.exec(text);
  return v4 && ipaddr.IPv4.isValid(v4[1]!) ? v4[1] : undefined;
}

type MetaReader = (key: string) => JsonValue | undefined;

function metaText(read: MetaReader, key: string): string | undefined {
  const v = read(key);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function clientIp(read: MetaReader, fn: string): string {
  const from = metaText(read, 'received_from');
  if (from === undefined) throw new Error(`${fn}: the connection meta has no received_from (the client address to check)`);
  const ip = clientIpOf(from);
  if (ip === undefined) throw new Error(`${fn}: received_from ${JSON.stringify(from)} is not an IP address`);
  return ip;
}

function readConnMeta(L: LuaState, idx: number, fn: string): MetaReader {
  const conn = ConnectionMetaClass.test(L, idx);
  if (conn) return (key) => conn.get(key);
  if (lua.lua_type(L, idx) === LUA_TTABLE) {
    const json = toJson(L, idx);
    const table: JsonObject = isJsonObject(json) ? json : {};
    return (key) => table[key];
  }
  throw new Error(`${fn}: conn_meta expected (the connection meta of an smtp_server_* event), got ${typeNameOrNone(L, idx)}`);
}

/** A resolver name given as a string, or in an options table as `resolver`. */
function readResolverName(L: LuaState, idx: number): string | undefined {
  if (lua.lua_type(L, idx) === LUA_TSTRING) return toText(L, idx);
  if (lua.lua_type(L, idx) !== LUA_TTABLE) return undefined;
  const opt = toJson(L, idx);
  return isJsonObject(opt) && typeof opt.resolver === 'string' ? opt.resolver : undefined;
}

function pushOutcome(o: SpfOutcome): LuaReturn {
  return (L) => (pushJson(L, { disposition: o.disposition, result: authenticationResultJson(o.result) }), 1);
}

export function register(kumo: ModuleTable): void {
  const spf = kumo.sub('spf');

  spf.fn(
    'check_host',
    asyncFunction('kumo.spf.check_host', (L) => {
      const fn = 'kumo.spf.check_host';
      const domain = argString(L, 1);
      const meta = readConnMeta(L, 2, fn);
      const sender = lua.lua_type(L, 3) === LUA_TSTRING ? toText(L, 3) : undefined;
      const resolve = authResolver(readResolverName(L, 4));
      const request: SpfRequest = {
        domain,
        clientIp: clientIp(meta, fn),
        sender,
        helo: sender === undefined ? domain : metaText(meta, 'ehlo_domain'),
        relayingHost: metaText(meta, 'hostname'),
      };
      return checkSpf(request, resolve).then(pushOutcome);
    }),
  );

  spf.fn(
    'check_msg',
    asyncFunction('kumo.spf.check_msg', (L) => {
      const fn = 'kumo.spf.check_msg';
      const msg = checkMessage(L, 1);
      const resolve = authResolver(readResolverName(L, 2));
      const meta: MetaReader = (key) => msg.getMeta(key);
      const helo = metaText(meta, 'ehlo_domain');
      const sender = msg.sender === '' ? undefined : msg.sender;
      const domain = sender ? sender.slice(sender.lastIndexOf('@') + 1) : helo;
      if (!domain) throw new Error(`${fn}: the message has a null sender and no ehlo_domain meta: there is no identity to check`);
      const request: SpfRequest = { domain, clientIp: clientIp(meta, fn), sender, helo, relayingHost: metaText(meta, 'hostname') };
      return checkSpf(request, resolve).then(pushOutcome);
    }),
  );
}
