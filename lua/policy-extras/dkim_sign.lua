--[[
policy-extras.dkim_sign — DKIM signing driven by TOML/JSON files (KumoMTA's
helper of the same name, written for kumo-lua from its description).

  local dkim_signer = require('policy-extras.dkim_sign'):setup { '/etc/kumo/dkim_data.toml' }
  kumo.on('smtp_server_message_received', function(msg) dkim_signer(msg) end)

  [base]
  selector = "default"
  headers = ["From", "To", "Subject"]
  additional_signatures = ["esp"]
  [domain."example.com"]                # matched against the From: header domain
  selector = "s1"
  filename = "/etc/kumo/dkim/example.com/s1.key"
  [signature."esp"]
  domain = "esp.example"
  policy = "OnlyIfMissingDomainBlock"
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local data_cache = require 'policy-extras.data_cache'

local mod = {}
local CONFIGURED = nil

local SIGNING_KEYS = {
  'selector', 'headers', 'expiration', 'header_canonicalization', 'body_canonicalization', 'over_sign', 'policy',
}
local BASE_KEYS = utils.merge(utils.to_set(SIGNING_KEYS), utils.to_set { 'vault_mount', 'vault_path_prefix', 'additional_signatures' })
local DOMAIN_KEYS = utils.merge(utils.to_set(SIGNING_KEYS), utils.to_set { 'algo', 'filename' })
local SIGNATURE_KEYS = utils.merge(DOMAIN_KEYS, utils.to_set { 'domain' })

--- Headers signed when neither the block nor [base] lists any.
mod.DEFAULT_HEADERS = { 'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type' }
mod.DEFAULT_KEY_DIR = '/opt/kumomta/etc/dkim'

local function check_block(block, allowed, where)
  if type(block) ~= 'table' then error(where .. ' must be a table', 0) end
  utils.assert_known_keys(block, utils.table_keys(allowed), where)
  if block.algo ~= nil then utils.assert_one_of(block.algo, { 'sha256', 'ed25519' }, where .. '.algo') end
end

local function load_data(file_names)
  local data = { base = {}, domain = {}, signature = {} }
  for _, f in ipairs(file_names) do
    local where = type(f) == 'string' and f or '<inline table>'
    local raw = utils.load_json_or_toml_file(f)
    for k, v in pairs(raw) do
      if data[k] == nil then error(string.format('%s: unknown top-level key %q, expected base, domain or signature', where, tostring(k)), 0) end
      if type(v) ~= 'table' then error(string.format('%s: %s must be a table', where, k), 0) end
    end
    if raw.base then
      check_block(raw.base, BASE_KEYS, where .. ': base')
      utils.merge_into(raw.base, data.base)
    end
    for name, block in pairs(raw.domain or {}) do
      check_block(block, DOMAIN_KEYS, string.format('%s: domain.%s', where, name))
      if block.policy ~= nil then utils.assert_one_of(block.policy, { 'Always' }, string.format('%s: domain.%s.policy', where, name)) end
      data.domain[name] = utils.merge(data.domain[name], block)
    end
    for name, block in pairs(raw.signature or {}) do
      check_block(block, SIGNATURE_KEYS, string.format('%s: signature.%s', where, name))
      if block.policy ~= nil then
        utils.assert_one_of(block.policy, { 'Always', 'OnlyIfMissingDomainBlock' }, string.format('%s: signature.%s.policy', where, name))
      end
      data.signature[name] = utils.merge(data.signature[name], block)
    end
  end
  for _, name in ipairs(data.base.additional_signatures or {}) do
    if data.signature[name] == nil then error(string.format('additional_signatures names %q, but there is no [signature.%q] block', name, name), 0) end
  end
  for name, block in pairs(data.domain) do
    if (block.selector or data.base.selector) == nil then error(string.format('domain %s has no selector (and [base] gives none)', name), 0) end
  end
  for name, block in pairs(data.signature) do
    if block.domain == nil then error(string.format('signature %s needs a domain', name), 0) end
    if (block.selector or data.base.selector) == nil then error(string.format('signature %s has no selector (and [base] gives none)', name), 0) end
  end
  return data
end

--- The signer for one block; `domain` is the d= value.
local function make_signer(base, block, domain)
  local function pick(key)
    if block[key] ~= nil then return block[key] end
    return base[key]
  end
  local selector = pick 'selector'
  local key
  if base.vault_mount then
    key = { vault_mount = base.vault_mount, vault_path = block.filename or string.format('%s/%s/%s', base.vault_path_prefix or 'dkim', domain, selector) }
  else
    key = block.filename or string.format('%s/%s/%s.key', mod.DEFAULT_KEY_DIR, domain, selector)
  end
  local params = {
    domain = domain,
    selector = selector,
    headers = pick 'headers' or mod.DEFAULT_HEADERS,
    key = key,
    expiration = pick 'expiration',
    header_canonicalization = pick 'header_canonicalization',
    body_canonicalization = pick 'body_canonicalization',
    over_sign = pick 'over_sign',
  }
  if block.algo == 'ed25519' then return kumo.dkim.ed25519_signer(params) end
  return kumo.dkim.rsa_sha256_signer(params)
end

local function sign_with(get, msg)
  local data, map_of = get()
  local from = msg:from_header()
  if from == nil then kumo.reject(552, '5.6.0 DKIM signing requires a From header, and this message has none') end
  local from_domain = from.domain
  local signed_domain = false
  local block = map_of('domain', data.domain)[from_domain]
  if block then
    msg:dkim_sign(make_signer(data.base, block, from_domain))
    signed_domain = true
  end
  for _, name in ipairs(data.base.additional_signatures or {}) do
    local sig = data.signature[name]
    if not (sig.policy == 'OnlyIfMissingDomainBlock' and signed_domain) then
      msg:dkim_sign(make_signer(data.base, sig, sig.domain))
    end
  end
end

local function validate(get)
  local ok, err = pcall(function()
    local data = get()
    for pattern in pairs(data.domain) do
      local domain = pattern:gsub('^%*%.', 'validate.')
      local msg = kumo.make_message('validate@' .. domain, 'recipient@example.com',
        'From: <validate@' .. domain .. '>\r\nSubject: dkim_sign validation\r\n\r\ntest\r\n')
      sign_with(get, msg)
    end
  end)
  if not ok then
    print('dkim_sign: ' .. tostring(err))
    kumo.validation_failed()
  end
end

--- setup(files) → sign(msg)
function mod:setup(file_names)
  if file_names == nil and self ~= mod then file_names = self end -- dkim_sign.setup { ... }
  if CONFIGURED then error('dkim_sign module has already been configured', 2) end
  if type(file_names) ~= 'table' then error('dkim_sign:setup expects a list of data files (or inline tables)', 2) end
  local get = data_cache.new { name = 'dkim_signing_data', ttl = '5 minutes', load = function() return load_data(file_names) end }
  CONFIGURED = { get = get }
  return function(msg) return sign_with(get, msg) end
end

kumo.on('validate_config', function()
  if CONFIGURED then validate(CONFIGURED.get) end
end)

return mod
