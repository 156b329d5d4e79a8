/**
 * The SMTP server's policy events (lua-api-more.md §8.1, §8.2, §2.2): each
 * one pushes its arguments and reads its result; errors (kumo.reject
 * included) propagate to the session, which turns them into replies with
 * `replyForPolicyError`.
 */
import { lua, type LuaState } from '../../lua/fengari.ts';
import { LuaError } from '../../lua/errors.ts';
import { pushJson, toJson } from '../../lua/marshal.ts';
import { pushText, toText } from '../../lua/strings.ts';
import { asRejection } from '../../kumo/reject.ts';
import type { EventRegistry } from '../../kumo/events.ts';
import { listenerDomainFromLua } from '../../kumo/listener-domain.ts';
import { EnvelopeAddressClass } from '../../message/envelope-binding.ts';
import { parseEnvelopeAddress } from '../../message/address.ts';
import type { Message } from '../../message/message.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../util/json.ts';
import type { PushMessage } from '../ports.ts';
import { ConnectionMetaClass, type ConnectionMeta } from './conn-meta.ts';
import type { ListenerDomain } from './listener-domain.ts';

/** A reply the session sends; `close` ends the connection after it. */
export interface SmtpReply {
  code: number;
  text: string;
  close: boolean;
  /** kumo.disconnect(..., 'FollowWith421'): send `421 <hostname> disconnecting due to previous error` first. */
  followWith421?: boolean;
  /** What the Rejection record shows as `command` instead of the client's line (log-record.md §4.1). */
  recordCommand?: string;
}

/** `421 4.3.0 <hostname> technical difficulties`; the record names the cause when there is one. */
export function technicalDifficulties(hostname: string, cause?: string): SmtpReply {
  const reply: SmtpReply = { code: 421, text: `4.3.0 ${hostname} technical difficulties`, close: true };
  if (cause !== undefined) reply.recordCommand = `Error in SmtpServerSession: ${cause}`;
  return reply;
}

/** kumo.reject / kumo.disconnect become their reply; any other error is `421 4.3.0 ... technical difficulties`. */
export function replyForPolicyError(e: unknown, hostname: string, log: (text: string) => void, event: string): SmtpReply {
  const rejection = asRejection(e instanceof LuaError ? e.payload : e);
  if (rejection) {
    const disconnect = rejection.mode === 'ForceDisconnect' || rejection.mode === 'FollowWith421';
    return {
      code: rejection.code,
      text: rejection.text,
      close: disconnect || rejection.code === 421,
      followWith421: rejection.mode === 'FollowWith421' && rejection.code !== 421,
    };
  }
  log(`${event}: ${e instanceof LuaError ? e.describe() : (e as Error).message}`);
  return technicalDifficulties(hostname, `${event}: ${(e as Error).message}`);
}

/** Result of `smtp_server_auth_plain`: accepted identities (authz, authn) or refusal. */
export type AuthOutcome = { ok: false } | { ok: true; authz: string; authn: string; identities: JsonValue[] };

function readStringList(L: LuaState, idx: number, what: string): string[] {
  const v = toJson(L, idx);
  const list = isJsonObject(v) && !Array.isArray(v) && Object.keys(v).length === 0 ? [] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw new Error(`${what} must return an array of strings or nil`);
  return list as string[];
}

/** One recipient group from `smtp_server_split_transaction`: strings or EnvelopeAddress userdata. */
function readRecipientGroups(L: LuaState, idx: number): string[][] {
  const groups: string[][] = [];
  if (lua.lua_type(L, idx) !== lua.LUA_TTABLE) throw new Error('smtp_server_split_transaction must return an array of arrays of recipients or nil');
  const n = lua.lua_rawlen(L, idx);
  for (let i = 1; i <= n; i++) {
    lua.lua_rawgeti(L, idx, i);
    const inner = lua.lua_gettop(L);
    if (lua.lua_type(L, inner) !== lua.LUA_TTABLE) throw new Error(`smtp_server_split_transaction: batch ${i} is not an array`);
    const group: string[] = [];
    const m = lua.lua_rawlen(L, inner);
    for (let j = 1; j <= m; j++) {
      lua.lua_rawgeti(L, inner, j);
      const addr = EnvelopeAddressClass.test(L, -1);
      if (addr) group.push(addr.email);
      else if (lua.lua_type(L, -1) === lua.LUA_TSTRING) group.push(parseEnvelopeAddress(toText(L, -1)).email);
      else throw new Error(`smtp_server_split_transaction: batch ${i} entry ${j} is not an address`);
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    if (group.length > 0) groups.push(group);
  }
  return groups;
}

/** The policy's `get_listener_domain` answer for one domain; null when unhandled or nil. */
export async function askListenerDomain(events: EventRegistry, domain: string, listener: string, connMeta: ConnectionMeta): Promise<ListenerDomain | null> {
  const r = await events.dispatch(
    'get_listener_domain',
    (co) => {
      pushText(co, domain);
      pushText(co, listener);
      ConnectionMetaClass.push(co, connMeta);
      return 3;
    },
    (co, n) => (n === 0 ? null : listenerDomainFromLua(co, 1)),
  );
  return r.handled ? r.value : null;
}

export class SmtpServerEvents {
  constructor(
    readonly events: EventRegistry,
    private readonly pushMessage: PushMessage,
  ) {}

  has(name: string): boolean {
    return this.events.has(name);
  }

  getListenerDomain(domain: string, listener: string, connMeta: ConnectionMeta): Promise<ListenerDomain | null> {
    return askListenerDomain(this.events, domain, listener, connMeta);
  }

  /** Per-session listener overrides; `{}` when unregistered. */
  async dynamicParameters(listener: string, connMeta: ConnectionMeta): Promise<JsonObject> {
    const r = await this.events.dispatch(
      'smtp_server_get_dynamic_parameters',
      (co) => {
        pushText(co, listener);
        ConnectionMetaClass.push(co, connMeta);
        return 2;
      },
      (co, n) => {
        const v = n === 0 ? null : toJson(co, 1);
        if (!isJsonObject(v) || Array.isArray(v)) throw new Error('smtp_server_get_dynamic_parameters must return a table of listener parameters (return {} for none)');
        return v;
      },
    );
    return r.handled ? r.value : {};
  }

  async connectionAccepted(connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_connection_accepted', (co) => (ConnectionMetaClass.push(co, connMeta), 1));
  }

  /** EHLO: the extension list that replaces the defaults, or null to keep them. HELO: `extensions` undefined. */
  async ehlo(domain: string, connMeta: ConnectionMeta, extensions: string[] | undefined): Promise<string[] | null> {
    const r = await this.events.dispatch(
      'smtp_server_ehlo',
      (co) => {
        pushText(co, domain);
        ConnectionMetaClass.push(co, connMeta);
        if (!extensions) return 2;
        pushJson(co, extensions);
        return 3;
      },
      (co, n) => (!extensions || n === 0 || lua.lua_isnil(co, 1) ? null : readStringList(co, 1, 'smtp_server_ehlo')),
    );
    return r.handled ? r.value : null;
  }

  async authPlain(authz: string, authc: string, password: string, connMeta: ConnectionMeta): Promise<AuthOutcome> {
    const r = await this.events.dispatch(
      'smtp_server_auth_plain',
      (co) => {
        pushText(co, authz);
        pushText(co, authc);
        pushText(co, password);
        ConnectionMetaClass.push(co, connMeta);
        return 4;
      },
      (co, n): AuthOutcome => {
        if (n === 0) throw new Error('smtp_server_auth_plain must return a boolean or an AuthInfo table');
        if (lua.lua_type(co, 1) === lua.LUA_TBOOLEAN) {
          return lua.lua_toboolean(co, 1) ? { ok: true, authz, authn: authc, identities: [{ identity: authc, context: 'SmtpAuthPlainAuthentication' }] } : { ok: false };
        }
        return authInfoOutcome(toJson(co, 1));
      },
    );
    return r.handled ? r.value : { ok: false };
  }

  async mailFrom(sender: string, connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_mail_from', (co) => {
      EnvelopeAddressClass.push(co, parseEnvelopeAddress(sender));
      ConnectionMetaClass.push(co, connMeta);
      return 2;
    });
  }

  async rcptTo(recipient: string, connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_rcpt_to', (co) => {
      EnvelopeAddressClass.push(co, parseEnvelopeAddress(recipient));
      ConnectionMetaClass.push(co, connMeta);
      return 2;
    });
  }

  async data(msg: Message, connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_data', (co) => {
      this.pushMessage(co, msg);
      ConnectionMetaClass.push(co, connMeta);
      return 2;
    });
  }

  /** Recipient groups, or null for "use batch_handling". */
  async splitTransaction(msg: Message, connMeta: ConnectionMeta): Promise<string[][] | null> {
    const r = await this.events.dispatch(
      'smtp_server_split_transaction',
      (co) => {
        this.pushMessage(co, msg);
        ConnectionMetaClass.push(co, connMeta);
        return 2;
      },
      (co, n) => (n === 0 || lua.lua_isnil(co, 1) ? null : readRecipientGroups(co, 1)),
    );
    return r.handled ? r.value : null;
  }

  async messageReceived(msg: Message, connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_message_received', (co) => {
      this.pushMessage(co, msg);
      ConnectionMetaClass.push(co, connMeta);
      return 2;
    });
  }

  /** `(new_code?, new_text?)`; the caller ignores errors (the reply stays as it was). */
  async rewriteResponse(code: number, text: string, command: string | null, connMeta: ConnectionMeta): Promise<{ code: number; text: string }> {
    const r = await this.events.dispatch(
      'smtp_server_rewrite_response',
      (co) => {
        lua.lua_pushinteger(co, code);
        pushText(co, text);
        if (command === null) lua.lua_pushnil(co);
        else pushText(co, command);
        ConnectionMetaClass.push(co, connMeta);
        return 4;
      },
      (co, n) => {
        const newCode = n >= 1 && lua.lua_isinteger(co, 1) ? Number(lua.lua_tointeger(co, 1)) : code;
        const newText = n >= 2 && lua.lua_type(co, 2) === lua.LUA_TSTRING ? toText(co, 2) : text;
        return { code: newCode, text: newText };
      },
    );
    return r.handled ? r.value : { code, text };
  }
}

/** An AuthInfo table (§3.8): identities tagged with the SmtpAuthPlain contexts set authn/authz. */
function authInfoOutcome(v: JsonValue): AuthOutcome {
  if (!isJsonObject(v) || Array.isArray(v)) throw new Error('smtp_server_auth_plain must return a boolean or an AuthInfo table');
  const identities = Array.isArray(v.identities) ? v.identities : [];
  if (identities.length === 0) throw new Error('smtp_server_auth_plain: AuthInfo has no identities');
  const named = (context: string) => {
    for (const i of identities) if (isJsonObject(i) && i.context === context && typeof i.identity === 'string') return i.identity;
    return undefined;
  };
  const first = identities[0];
  const firstName = isJsonObject(first) && typeof first.identity === 'string' ? first.identity : '';
  const authn = named('SmtpAuthPlainAuthentication') ?? firstName;
  const authz = named('SmtpAuthPlainAuthorization') ?? authn;
  return { ok: true, authn, authz, identities };
}
