/**
 * kumo.http: build_client, build_url and the Client / Request / Response /
 * HeaderMap userdata (clients.md §1, lua-api.md §13.9). Thin Lua glue over
 * src/clients/http/.
 */
import { lua, type LuaState, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argBytes, argString, checkTable, optString } from '../lua/args.ts';
import { pushNumber } from '../lua/marshal.ts';
import { decodeUtf8Strict, keyBytes, pushBytes, pushText, toBytes, toText } from '../lua/strings.ts';
import { parseHumantime } from '../util/duration.ts';
import { HttpClient } from '../clients/http/client.ts';
import { HttpRequest } from '../clients/http/request.ts';
import { HeaderMap, HttpResponse } from '../clients/http/response.ts';
import { buildUrl, type MultipartValue } from '../clients/http/forms.ts';
import { HTTP_DISPATCHER_FACTORY, httpDispatcherFactory } from '../clients/http/dispatcher.ts';
import { readTextMap, tableAsJson, textAt } from '../clients/lua-args.ts';
import { deserializeError, expectObject, optBool, optDuration, optInteger, optString as fieldString, requireField, FieldError } from '../clients/serde-fields.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { readAwsSignParams } from './crypto.ts';
import { StructReader } from './support/struct-args.ts';

/** hm[name]: case-insensitive, first value, raw bytes; nil when absent or not a valid name. */
function headerMapIndex(L: LuaState): number {
  const map = HeaderMapClass.check(L, 1);
  const value = lua.lua_type(L, 2) === LUA_TSTRING ? map.get(toText(L, 2)) : undefined;
  if (value === undefined) lua.lua_pushnil(L);
  else pushBytes(L, value);
  return 1;
}

const HeaderMapClass = new LuaClass<HeaderMap>({
  name: 'HeaderMap',
  meta: {
    // Each (name, value) exactly once, in order; the position lives in the closure.
    __pairs: (L) => {
      const map = HeaderMapClass.check(L, 1);
      let i = 0;
      lua.lua_pushcfunction(L, (Li: LuaState) => {
        const entry = map.entries[i++];
        if (!entry) {
          lua.lua_pushnil(Li);
          return 1;
        }
        pushText(Li, entry[0]);
        pushBytes(Li, entry[1]);
        return 2;
      });
      lua.lua_pushvalue(L, 1);
      lua.lua_pushnil(L);
      return 3;
    },
  },
});

/**
 * LuaClass always installs its own __index (method/field lookup) over any
 * `meta.__index`, so the HeaderMap's lookup is put on the metatable after
 * pushing. Idempotent; the metatable is shared per state.
 */
function pushHeaderMap(L: LuaState, map: HeaderMap): void {
  HeaderMapClass.push(L, map);
  lua.lua_getmetatable(L, -1);
  lua.lua_pushcfunction(L, headerMapIndex);
  lua.lua_setfield(L, -2, keyBytes('__index'));
  lua.lua_pop(L, 1);
}

const boolMethod = (fn: (r: HttpResponse) => boolean) => (L: LuaState) => {
  lua.lua_pushboolean(L, fn(ResponseClass.check(L, 1)));
  return 1;
};

const textAsync = asyncFunction('HttpResponse:text', async (L) => {
  const text = await ResponseClass.check(L, 1).text();
  return (Lr) => {
    pushText(Lr, text);
    return 1;
  };
});

export const ResponseClass = new LuaClass<HttpResponse>({
  name: 'HttpResponse',
  methods: {
    status_code: (L) => {
      lua.lua_pushinteger(L, ResponseClass.check(L, 1).status);
      return 1;
    },
    status_reason: (L) => {
      const reason = ResponseClass.check(L, 1).reason;
      if (reason === undefined) lua.lua_pushnil(L);
      else pushText(L, reason);
      return 1;
    },
    status_is_informational: boolMethod((r) => r.isInformational()),
    status_is_success: boolMethod((r) => r.isSuccess()),
    status_is_redirection: boolMethod((r) => r.isRedirection()),
    status_is_client_error: boolMethod((r) => r.isClientError()),
    status_is_server_error: boolMethod((r) => r.isServerError()),
    headers: (L) => {
      pushHeaderMap(L, ResponseClass.check(L, 1).headers());
      return 1;
    },
    content_length: (L) => {
      const n = ResponseClass.check(L, 1).contentLength();
      if (n === undefined) lua.lua_pushnil(L);
      else pushNumber(L, n);
      return 1;
    },
    text: (L) => {
      // The client has read the body before send() returned: hand it over
      // without suspending the coroutine. Still async for Lua (raises where
      // Lua cannot yield), and waits (or raises) through textAsync otherwise.
      if (lua.lua_isyieldable(L)) {
        const text = ResponseClass.check(L, 1).textNow();
        if (text !== undefined) {
          pushText(L, text);
          return 1;
        }
      }
      return textAsync(L);
    },
    bytes: asyncFunction('HttpResponse:bytes', async (L) => {
      const bytes = await ResponseClass.check(L, 1).bytes();
      return (Lr) => {
        pushBytes(Lr, bytes);
        return 1;
      };
    }),
  },
});

/** Builder methods change the request and return it (argument 1) for chaining. */
const builder = (fn: (req: HttpRequest, L: LuaState) => void) => (L: LuaState) => {
  fn(RequestClass.check(L, 1), L);
  lua.lua_settop(L, 1);
  return 1;
};

/** `req:timeout(v)`: a float is seconds, a string is humantime; a Lua integer is refused, as upstream does. */
function timeoutArg(L: LuaState): number {
  const t = lua.lua_type(L, 2);
  if (t === LUA_TNUMBER && !lua.lua_isinteger(L, 2)) {
    const secs = lua.lua_tonumber(L, 2) as number;
    if (!Number.isFinite(secs) || secs < 0) throw new Error(`invalid timeout duration: ${secs} is not a non-negative number of seconds`);
    return secs * 1000;
  }
  if (t === LUA_TSTRING) return parseHumantime(toText(L, 2));
  throw new Error('invalid timeout duration');
}

function multipartParts(L: LuaState): [string, MultipartValue][] {
  checkTable(L, 2);
  const parts: [string, MultipartValue][] = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 2) !== 0) {
    const name = textAt(L, -2);
    if (name === undefined) throw new Error('form_multipart_data: part names must be strings');
    const t = lua.lua_type(L, -1);
    if (t === LUA_TSTRING) {
      const bytes = new Uint8Array(toBytes(L, -1));
      const text = decodeUtf8Strict(bytes);
      parts.push([name, text !== undefined ? { kind: 'text', data: text } : { kind: 'binary', data: bytes }]);
    } else {
      const value = t === LUA_TTABLE ? tableAsJson(L, -1) : null;
      try {
        if (t !== LUA_TTABLE) throw new FieldError(`invalid type: ${lua.lua_isinteger(L, -1) ? `integer \`${toText(L, -1)}\`` : 'value'}, expected struct FilePart`);
        const obj = expectObject(value!, 'struct FilePart');
        const data = requireField(obj, 'data', fieldString);
        const fileName = requireField(obj, 'file_name', fieldString);
        parts.push([name, { kind: 'file', data: Buffer.from(data, 'utf8'), fileName }]);
      } catch (e) {
        throw deserializeError(e);
      }
    }
    lua.lua_pop(L, 1);
  }
  return parts;
}

const RequestClass = new LuaClass<HttpRequest>({
  name: 'HttpRequest',
  methods: {
    header: builder((req, L) => req.header(argString(L, 2), argString(L, 3))),
    headers: builder((req, L) => req.headers(readTextMap(L, 2, 'bad argument #1 to `Request.headers`'))),
    basic_auth: builder((req, L) => req.basicAuth(argString(L, 2), optString(L, 3))),
    bearer_auth: builder((req, L) => req.bearerAuth(argString(L, 2))),
    // Binary-safe, a superset of upstream, which only takes UTF-8 text here.
    // A view of the Lua string's bytes, not a copy: Lua strings never change.
    body: builder((req, L) => {
      const bytes = argBytes(L, 2);
      req.body(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }),
    form_url_encoded: builder((req, L) => req.formUrlEncoded(readTextMap(L, 2, 'bad argument #1 to `Request.form_url_encoded`'))),
    form_multipart_data: builder((req, L) => req.formMultipart(multipartParts(L))),
    timeout: builder((req, L) => req.timeout(timeoutArg(L))),
    // clients.md §1.9: method, path and query come from the request; host is signed.
    aws_sign_v4: asyncFunction('HttpRequest:aws_sign_v4', async (L) => {
      const req = RequestClass.check(L, 1);
      const ctx = REQUEST_CONTEXT.get(req);
      if (!ctx) throw new Error('HttpRequest:aws_sign_v4: request has no policy context');
      const sign = readAwsSignParams(L, new StructReader(L, 2));
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        throw new Error('failed to clone request builder');
      }
      const query = new Map<string, string>();
      for (const [k, v] of url.searchParams) query.set(k, v);
      const result = await sign(ctx, {
        method: req.method.toUpperCase(),
        uri: url.pathname,
        queryParams: [...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        hostHeader: url.hostname,
      });
      req.header('Authorization', result.authorization);
      req.header('X-Amz-Date', result.timestamp);
      return (Lr) => (lua.lua_pushvalue(Lr, 1), 1);
    }),
    send: asyncFunction('HttpRequest:send', async (L) => {
      const response = await RequestClass.check(L, 1).send();
      return (Lr) => {
        ResponseClass.push(Lr, response);
        return 1;
      };
    }),
  },
});

/** The policy context a client (and its requests) belong to: req:aws_sign_v4 needs its clock and key sources. */
const CLIENT_CONTEXT = new WeakMap<HttpClient, KumoContext>();
const REQUEST_CONTEXT = new WeakMap<HttpRequest, KumoContext>();

const requestMethod = (method: 'get' | 'post' | 'put') => (L: LuaState) => {
  const client = ClientClass.check(L, 1);
  const req = client[method](argString(L, 2));
  const ctx = CLIENT_CONTEXT.get(client);
  if (ctx) REQUEST_CONTEXT.set(req, ctx);
  RequestClass.push(L, req);
  return 1;
};

const ClientClass = new LuaClass<HttpClient>({
  name: 'HttpClient',
  methods: {
    get: requestMethod('get'),
    post: requestMethod('post'),
    put: requestMethod('put'),
    close: (L) => {
      ClientClass.check(L, 1).close();
      return 0;
    },
  },
});

function buildClient(ctx: KumoContext, L: LuaState): HttpClient {
  const value = tableAsJson(L, 1);
  try {
    if (lua.lua_type(L, 1) !== LUA_TTABLE) throw new FieldError(`invalid type: ${value === null ? 'nil' : typeof value}, expected table`);
    const options = expectObject(value);
    return new HttpClient(
      {
        userAgent: fieldString(options, 'user_agent'),
        connectionVerbose: optBool(options, 'connection_verbose'),
        poolIdleTimeoutMs: optDuration(options, 'pool_idle_timeout'),
        timeoutMs: optDuration(options, 'timeout'),
        acceptInvalidCerts: optBool(options, 'accept_invalid_certs'),
        // kumo-lua extras (README "Limits"): not in KumoMTA's client options.
        followRedirects: optBool(options, 'follow_redirects'),
        maxResponseBytes: optInteger(options, 'max_response_size', 0, Number.MAX_SAFE_INTEGER, 'a byte count'),
      },
      {
        dispatcherFactory: ctx.optional(HTTP_DISPATCHER_FACTORY) ?? httpDispatcherFactory(),
        clock: ctx.clock,
        log: (message) => ctx.log.write('info', message),
      },
    );
  } catch (e) {
    if (e instanceof FieldError) throw deserializeError(e, value);
    throw e;
  }
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('http').fns({
    build_client: (L) => {
      const client = buildClient(ctx, L);
      CLIENT_CONTEXT.set(client, ctx);
      ClientClass.push(L, client);
      return 1;
    },
    build_url: (L) => {
      const base = argString(L, 1);
      const params = readTextMap(L, 2, 'bad argument #2 to `build_url`');
      pushText(L, buildUrl(base, params));
      return 1;
    },
  });
}
