--[[
policy-extras.webhook_sender — the connection behind log_hooks:new_json.
Written for kumo-lua (clean room).

It POSTs the log message body (or, for send_batch, a JSON array of bodies) and
turns the HTTP outcome into what the custom_lua dispatcher understands:
  2xx                                   -> returns "<status> <reason>: <body>"   (Delivery)
  transport error, 408, 429, 5xx        -> kumo.reject(451, ...)                 (TransientFailure, retried)
  3xx with a Location                   -> kumo.reject(451, ... Location ...)    (TransientFailure, retried)
  any other status                      -> kumo.reject(500, ...)                 (Bounce)
Redirects are not followed: following a 301/302/303 would turn the POST into a
body-less GET, and its 200 would count a record as delivered that nobody got.
Every request carries an idempotency key (webhook-id header; in a batch each
record also carries its own as "webhook_id") that is the same on every retry.
Optionally it signs the body the Standard Webhooks way (webhook-id,
webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>).
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

--- Codes handed to kumo.reject: 4xx is retried by the engine, anything else bounces.
mod.TRANSIENT_CODE = 451
mod.PERMANENT_CODE = 500
--- Response bodies longer than this are cut in the disposition text.
mod.MAX_BODY_IN_DISPOSITION = 4096
--- The response body is only used for the disposition text, so a large one is not read.
mod.MAX_RESPONSE_SIZE = 1024 * 1024

local SIGNING_PREFIX = 'whsec_'

local function decode_whsec(text)
  local encoded = text:sub(#SIGNING_PREFIX + 1)
  local ok, key = pcall(kumo.encode.base64_decode, encoded)
  if not ok then
    error('signing_secret: the part after whsec_ is not valid base64 (' .. tostring(key) .. ')', 0)
  end
  if #key == 0 then error('signing_secret: the part after whsec_ is empty', 0) end
  return key
end

local function is_whsec(s)
  return type(s) == 'string' and utils.starts_with(s, SIGNING_PREFIX)
end

-- Turns the user's signing_secret into either key bytes (known now) or a
-- KeySource to load when a connection is made.
local function prepare_secret(secret)
  if secret == nil then return nil end
  if is_whsec(secret) then return { key = decode_whsec(secret) } end
  if type(secret) == 'table' and secret.key_data ~= nil then
    local data = secret.key_data
    if is_whsec(data) then return { key = decode_whsec(data) } end
    if type(data) == 'string' then return { key = data } end
  end
  -- A file path (a bare string is a KeySource path) or a vault/event KeySource.
  return { source = secret }
end

--- Validates and normalises the options; raises a message naming the option.
function mod.prepare(o)
  local headers = {}
  for _, name in ipairs(utils.table_keys(o.headers or {})) do
    local lname = name:lower()
    if lname == 'content-type' or lname:match('^webhook%-') then
      error(string.format('headers: %q is set by log_hooks:new_json itself', name), 0)
    end
    if lname == 'authorization' and (o.bearer_token or o.basic_auth) then
      error('headers: Authorization conflicts with bearer_token/basic_auth', 0)
    end
    headers[#headers + 1] = { name, o.headers[name] }
  end
  local client_options = { follow_redirects = false, max_response_size = mod.MAX_RESPONSE_SIZE }
  if o.timeout ~= nil then client_options.timeout = o.timeout end
  if o.user_agent ~= nil then client_options.user_agent = o.user_agent end
  return {
    url = o.url,
    headers = headers,
    bearer_token = o.bearer_token,
    basic_auth = o.basic_auth,
    secret = prepare_secret(o.signing_secret),
    client_options = client_options,
  }
end

-- Key bytes for HMAC; KeySources are loaded (and whsec_ decoded) once per connection.
local function resolve_key(secret)
  if secret == nil then return nil end
  if secret.key then return secret.key end
  local load = kumo.secrets and rawget(kumo.secrets, 'load')
  if type(load) ~= 'function' then
    error('signing_secret: kumo.secrets.load is needed to read this KeySource but is not available', 0)
  end
  local bytes = load(secret.source)
  local trimmed = bytes:gsub('%s+$', '')
  if is_whsec(trimmed) then return decode_whsec(trimmed) end
  return bytes
end

local function unix_now()
  local time = kumo.time and rawget(kumo.time, 'now')
  if type(time) == 'function' then return time().unix_timestamp end
  return os.time()
end

--- Standard Webhooks headers for one request body.
function mod.signature_headers(key, id, timestamp, body)
  local signed = id .. '.' .. tostring(timestamp) .. '.' .. body
  local mac = kumo.digest.hmac_sha256({ key_data = key }, signed)
  return {
    { 'webhook-id', id },
    { 'webhook-timestamp', tostring(timestamp) },
    { 'webhook-signature', 'v1,' .. kumo.encode.base64_encode(mac.bytes) },
  }
end

local function status_text(resp, body)
  local reason = resp:status_reason()
  if #body > mod.MAX_BODY_IN_DISPOSITION then
    body = body:sub(1, mod.MAX_BODY_IN_DISPOSITION) .. '...'
  end
  -- Concatenation, not string.format: the same text ('%d' of an integer
  -- status, '%s' of strings) at a fraction of the cost per record.
  if reason then
    return resp:status_code() .. ' ' .. reason .. ': ' .. body
  end
  return resp:status_code() .. ': ' .. body
end

--- True for statuses worth trying again later.
function mod.is_retryable_status(code)
  return code == 408 or code == 429 or (code >= 500 and code <= 599)
end

local function header_value(resp, name)
  local ok, headers = pcall(resp.headers, resp)
  if not ok then return nil end
  return headers[name]
end

-- Sends one request and classifies the outcome (returns text or raises a rejection).
local function post(state, id, body)
  local req = state.client:post(state.options.url)
  req:header('Content-Type', 'application/json')
  for _, h in ipairs(state.options.headers) do req:header(h[1], h[2]) end
  if state.options.bearer_token then req:bearer_auth(state.options.bearer_token) end
  local basic = state.options.basic_auth
  if basic then req:basic_auth(basic.username, basic.password) end
  if state.key then
    for _, h in ipairs(mod.signature_headers(state.key, id, unix_now(), body)) do req:header(h[1], h[2]) end
  else
    req:header('webhook-id', id)
  end
  req:body(body)

  local sent, resp = pcall(req.send, req)
  if not sent then
    kumo.reject(mod.TRANSIENT_CODE, 'POST ' .. state.options.url .. ' failed: ' .. tostring(resp))
  end
  local code = resp:status_code()
  local retry_after = mod.is_retryable_status(code) and header_value(resp, 'retry-after') or nil
  local location = resp:status_is_redirection() and header_value(resp, 'location') or nil
  local read, text = pcall(resp.text, resp)
  if not read then text = '(response body could not be read: ' .. tostring(text) .. ')' end

  local disposition = status_text(resp, text)
  if resp:status_is_success() then return disposition end
  if resp:status_is_redirection() and location then
    kumo.reject(mod.TRANSIENT_CODE, string.format(
      '%s (redirect to %s not followed: the record was not delivered; point url at the new location)', disposition, location))
  end
  if mod.is_retryable_status(code) then
    if retry_after then disposition = disposition .. ' (Retry-After: ' .. retry_after .. ')' end
    kumo.reject(mod.TRANSIENT_CODE, disposition)
  end
  kumo.reject(mod.PERMANENT_CODE, disposition)
end

local byte, find, sub, concat = string.byte, string.find, string.sub, table.concat

-- A stable id for a batch: the same messages give the same webhook-id on retry.
local function batch_id(ids)
  if #ids == 1 then return ids[1] end
  return 'batch_' .. kumo.digest.sha256(concat(ids, ',')).hex:sub(1, 32)
end

local Connection = {}
Connection.__index = Connection

function Connection:send(msg)
  return post(self, msg:id(), msg:get_data())
end

-- Appends one record of a batch body to `parts` (from index n + 1); returns the new n.
-- Trailing CR/LF bytes of the record are left out (counted from the end: a
-- gsub would scan the whole record). The record's idempotency key goes into
-- its JSON object as "webhook_id"; a body that is not an object (a custom
-- template) is wrapped as { webhook_id, record }. The pieces go straight into
-- `parts`, so each record is copied once (its sub) before the final concat.
local function add_record(parts, n, id, data)
  local last = #data
  while last > 0 do
    local b = byte(data, last)
    if b ~= 10 and b ~= 13 then break end
    last = last - 1
  end
  local quoted = kumo.serde.json_encode(id)
  -- A '{' (or '}') cannot be among the trimmed CR/LF bytes, so matching on the
  -- untrimmed data finds what matching on the trimmed record would.
  local _, brace = find(data, '^%s*{')
  parts[n + 1] = '{"webhook_id":'
  parts[n + 2] = quoted
  if brace == nil then
    parts[n + 3] = ',"record":'
    parts[n + 4] = last == #data and data or sub(data, 1, last)
    parts[n + 5] = '}'
    return n + 5
  end
  if find(data, '^%s*}', brace + 1) then
    parts[n + 3] = sub(data, brace + 1, last)
    return n + 3
  end
  parts[n + 3] = ','
  parts[n + 4] = sub(data, brace + 1, last)
  return n + 4
end

function Connection:send_batch(msgs)
  local parts, n, ids = { '[' }, 1, {}
  for i, m in ipairs(msgs) do
    if i > 1 then
      n = n + 1
      parts[n] = ','
    end
    local id = m:id()
    ids[i] = id
    n = add_record(parts, n, id, m:get_data())
  end
  parts[n + 1] = ']'
  return post(self, batch_id(ids), concat(parts))
end

function Connection:close()
  self.client:close()
end

--- Builds a connection object (called from the constructor event).
function mod.connect(options)
  return setmetatable({
    options = options,
    client = kumo.http.build_client(utils.shallow_copy(options.client_options)),
    key = resolve_key(options.secret),
  }, Connection)
end

return mod
