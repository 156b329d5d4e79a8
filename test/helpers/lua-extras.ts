/**
 * Helpers for testing lua/policy-extras: fire events with Lua globals as
 * arguments, and a Lua prelude that stands in for kumo functions other
 * helpers have not landed yet (each stub is installed only when the real
 * function is missing, so tests switch to the real ones automatically).
 */
import { lua, type LuaState } from '../../src/lua/fengari.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { toJson } from '../../src/lua/marshal.ts';
import type { JsonValue } from '../../src/util/json.ts';
import type { TestContext } from './lua.ts';

export interface FireResult {
  handled: boolean;
  /** The first result as JSON (null when it cannot be converted). */
  value: JsonValue;
}

/**
 * Fires `event` with the named Lua globals as arguments (a name of `nil`
 * passes nil). The first result is also stored in the global `storeAs`.
 */
export async function fire(t: TestContext, event: string, argGlobals: string[], storeAs = 'LAST_RESULT'): Promise<FireResult> {
  const push = (co: LuaState) => {
    for (const g of argGlobals) {
      if (g === 'nil') lua.lua_pushnil(co);
      else lua.lua_getglobal(co, keyBytes(g));
    }
    return argGlobals.length;
  };
  const r = await t.ctx.events.dispatch(event, push, (co, n) => {
    if (n === 0) lua.lua_pushnil(co);
    else lua.lua_pushvalue(co, 1);
    lua.lua_setglobal(co, keyBytes(storeAs));
    if (n === 0) return null;
    try {
      return toJson(co, 1);
    } catch {
      return null;
    }
  });
  return r.handled ? { handled: true, value: r.value } : { handled: false, value: null };
}

/**
 * Lua prelude (run with t.load before requiring the helpers):
 * - CALLS.configure_log_hook / configure_log_disposition_hook / make_queue_config record the
 *   tables passed. The configure_* functions are only recorded (a bare test context has no
 *   logging subsystem); the real make_queue_config is called when it exists, otherwise a stub
 *   that rejects unknown keys with KumoMTA's (S+) error shape stands in.
 * - kumo.encode.base64_encode/base64_decode: pure-Lua stand-ins while kumo.encode is missing.
 * - make_msg(data, log_record) builds a message with kumo.make_message.
 */
export const PRELUDE = String.raw`
local kumo = require 'kumo'
CALLS = { configure_log_hook = {}, configure_log_disposition_hook = {}, make_queue_config = {} }

local QUEUE_CONFIG_KEYS = { retry_interval = 1, max_retry_interval = 1, max_age = 1, egress_pool = 1, protocol = 1,
  max_message_rate = 1, reap_interval = 1, refresh_interval = 1, refresh_strategy = 1, strategy = 1,
  provider_name = 1, shrink_policy = 1, timerwheel_tick_interval = 1 }

local function stub_make_queue_config(params)
  for k, v in pairs(params) do
    if not QUEUE_CONFIG_KEYS[k] then
      error('deserialize error: unknown field \x60' .. k .. '\x60, expected one of \x60retry_interval\x60, while processing {}')
    end
    if (k == 'retry_interval' or k == 'max_age') and type(v) == 'boolean' then
      error('deserialize error: invalid type: boolean \x60' .. tostring(v) .. '\x60, expected a duration, while processing {}')
    end
  end
  return { stub_queue_config = params }
end

local real_make_queue_config = rawget(kumo, 'make_queue_config')
USING_REAL_MAKE_QUEUE_CONFIG = real_make_queue_config ~= nil
kumo.make_queue_config = function(params)
  table.insert(CALLS.make_queue_config, params)
  return (real_make_queue_config or stub_make_queue_config)(params)
end
kumo.configure_log_hook = function(params) table.insert(CALLS.configure_log_hook, params) end
kumo.configure_log_disposition_hook = function(params) table.insert(CALLS.configure_log_disposition_hook, params) end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
kumo.encode = kumo.encode or {}
if not rawget(kumo.encode, 'base64_encode') then
  kumo.encode.base64_encode = function(s)
    local out = {}
    for i = 1, #s, 3 do
      local a, b, c = s:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local chunk = ''
      for j = 3, 0, -1 do
        local idx = (n // (64 ^ j)) % 64
        chunk = chunk .. B64:sub(math.floor(idx) + 1, math.floor(idx) + 1)
      end
      if not b then chunk = chunk:sub(1, 2) .. '==' elseif not c then chunk = chunk:sub(1, 3) .. '=' end
      out[#out + 1] = chunk
    end
    return table.concat(out)
  end
  kumo.encode.base64_decode = function(s)
    s = s:gsub('=+$', '')
    if s:find('[^%w%+/]') then error('invalid symbol at ' .. s:find('[^%w%+/]')) end
    local bits, out, n, count = 0, {}, 0, 0
    for ch in s:gmatch('.') do
      n = n * 64 + (B64:find(ch, 1, true) - 1)
      count = count + 6
      if count >= 8 then
        count = count - 8
        out[#out + 1] = string.char((n >> count) & 255)
        n = n & ((1 << count) - 1)
      end
    end
    return table.concat(out)
  end
end

function make_msg(data, log_record)
  local m = kumo.make_message('sender@example.com', 'rcpt@example.net', data)
  if log_record then m:set_meta('log_record', log_record) end
  return m
end
`;

/**
 * Stand-ins for kumo functions other branches are adding (each installed only
 * while the real one is missing, so the tests move to the real one on merge):
 * kumo.domain_map.new (exact key, else the nearest `*.` wildcard) for
 * dns's §3.1; kumo.make_listener_domain (returns its table) for smtpserver's §2.1.
 */
export const MISSING_APIS_PRELUDE = String.raw`
local kumo = require 'kumo'
local function has(tbl, key) local ok, v = pcall(function() return rawget(tbl, key) end) return ok and v ~= nil end
if not (has(kumo, 'domain_map') and has(kumo.domain_map, 'new')) then
  local real_dm = rawget(kumo, 'domain_map')
  kumo.domain_map = { new = function(initial)
    local entries = {}
    for k, v in pairs(initial or {}) do entries[k] = v end
    return setmetatable({}, {
      __index = function(_, name)
        if entries[name] ~= nil then return entries[name] end
        local rest = name
        while true do
          rest = rest:match('^[^.]+%.(.+)$')
          if not rest then return nil end
          if entries['*.' .. rest] ~= nil then return entries['*.' .. rest] end
        end
      end,
      __newindex = function(_, k, v) entries[k] = v end,
    })
  end }
  USING_DOMAIN_MAP_STAND_IN = real_dm
end
if not has(kumo, 'make_listener_domain') then
  kumo.make_listener_domain = function(params) return params end
end
`;
