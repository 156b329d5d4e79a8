--[[
policy-extras.listener_domains — relay and OOB/ARF settings per domain (and
optionally per listener) from TOML/JSON files (KumoMTA's helper of the same
name, written for kumo-lua from its description).

  kumo.on('get_listener_domain', require('policy-extras.listener_domains'):setup { '/etc/kumo/listener_domains.toml' })

  ["example.com"]                        # make_listener_domain keys, plus:
  relay_from_authz = ["scott"]           # authenticated senders that may relay
  ["*"]                                  # the final fallback
  [listener."127.0.0.1:2525"."example.com"]
  relay_to = true                        # only on that listener
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local data_cache = require 'policy-extras.data_cache'

local mod = {}
local CONFIGURED = nil

--- Parses one file (or inline table) into { [listener or '*'] = { [domain] = params } }.
local function parse_file(source)
  local where = type(source) == 'string' and source or '<inline table>'
  local raw = utils.load_json_or_toml_file(source)
  local out = { ['*'] = {} }
  for key, value in pairs(raw) do
    if type(value) ~= 'table' then
      error(string.format('%s: %s must be a table of listener domain settings', where, tostring(key)), 0)
    end
    if key == 'listener' then
      for listener, domains in pairs(value) do
        if type(domains) ~= 'table' then error(string.format('%s: listener.%s must be a table of domains', where, listener), 0) end
        out[listener] = out[listener] or {}
        for domain, params in pairs(domains) do out[listener][domain] = params end
      end
    else
      out['*'][key] = value
    end
  end
  return out
end

local function load_data(file_names)
  local data = {}
  for _, f in ipairs(file_names) do
    for listener, domains in pairs(parse_file(f)) do
      data[listener] = data[listener] or {}
      for domain, params in pairs(domains) do
        data[listener][domain] = utils.merge(data[listener][domain], params)
      end
    end
  end
  return data
end

--- The make_listener_domain parameters for this session, or nil.
local function effective_params(params, conn_meta)
  if params == nil then return nil end
  params = utils.shallow_copy(params)
  local allowed = params.relay_from_authz
  params.relay_from_authz = nil
  if allowed and conn_meta then
    local authz = conn_meta:get_meta 'authz_id'
    if authz ~= nil and utils.table_contains(allowed, authz) then
      local peer = conn_meta:get_meta 'received_from'
      if peer then params.relay_from = { (utils.split_ip_port(peer)) } end
    end
  end
  return params
end

local function validate(get_data)
  local ok, err = pcall(function()
    for listener, domains in pairs(get_data()) do
      for domain, params in pairs(domains) do
        local built, why = pcall(kumo.make_listener_domain, effective_params(params, nil))
        if not built then error(string.format('listener %s domain %s: %s', listener, domain, tostring(why)), 0) end
      end
    end
  end)
  if not ok then
    print('listener_domains: ' .. tostring(err))
    kumo.validation_failed()
  end
end

function mod:setup(file_names)
  if file_names == nil and self ~= mod then file_names = self end -- listener_domains.setup { ... }
  if CONFIGURED then error('listener_domains module has already been configured', 2) end
  if type(file_names) ~= 'table' then error('listener_domains:setup expects a list of data files (or inline tables)', 2) end
  local get = data_cache.new {
    name = 'listener_domains_data', ttl = '5 minutes',
    load = function() return load_data(file_names) end,
  }
  local function get_data() return (get()) end

  local function resolve(domain, listener)
    local data, map_of = get()
    local specific = listener and map_of(listener, data[listener])
    local any = map_of('*', data['*'])
    return (specific and specific[domain]) or (any and any[domain]) or (any and any['*'])
  end

  CONFIGURED = { get_data = get_data, resolve = resolve }
  return function(domain, listener, conn_meta)
    local params = effective_params(resolve(domain, listener), conn_meta)
    if params == nil then return nil end
    return kumo.make_listener_domain(params)
  end
end

kumo.on('validate_config', function()
  if CONFIGURED then validate(CONFIGURED.get_data) end
end)

return mod
