--[[
policy-extras.queue — tenants, campaigns and per-domain queue options from
TOML/JSON files (KumoMTA's helper of the same name, written for kumo-lua from
its description).

  local queue_helper = require('policy-extras.queue'):setup { '/etc/kumo/queues.toml' }
  kumo.on('smtp_server_message_received', function(msg) queue_helper:apply(msg) end)

The helper's get_queue_config handler answers every queue, so it must be the
last get_queue_config handler registered (validation checks this).
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local data_cache = require 'policy-extras.data_cache'

local mod = {}
mod.CONFIGURED = nil

local TOP_LEVEL = {
  scheduling_header = 'string', tenant_header = 'string', remove_tenant_header = 'boolean',
  campaign_header = 'string', remove_campaign_header = 'boolean', default_tenant = 'string',
  tenant = 'table', queue = 'table',
  -- The helper's parsed form, which KumoMTA also takes at the top level (its
  -- own ndr/dmarc test policies pass `{ queues = { default = {...} } }`):
  -- a domain's tenants sit under `tenants`, a tenant's campaigns under `campaigns`.
  tenants = 'table', queues = 'table',
}

--- True when `key = value` is a queue option (make_queue_config accepts it);
--- false when make_queue_config does not know the key; raises for a bad value.
local function is_queue_option(key, value, where)
  local ok, err = pcall(kumo.make_queue_config, { [key] = value })
  if ok then return true end
  if tostring(err):find('unknown field', 1, true) then return false end
  error(string.format('%s.%s: %s', where, key, tostring(err)), 0)
end

local function expect_type(value, expected, where)
  if type(value) ~= expected then
    error(string.format('%s must be a %s, got %s', where, expected, type(value)), 0)
  end
end

--- Splits a table into queue options and the rest, per the rules of its level.
--- `allowed_extra` maps extra key => check function; `nested` parses a
--- non-option table key (a tenant or campaign), or is nil where none is allowed.
local function parse_level(tbl, where, allowed_extra, nested)
  expect_type(tbl, 'table', where)
  local out = { options = {}, children = {} }
  for k, v in pairs(tbl) do
    local key_where = where .. '.' .. tostring(k)
    if allowed_extra[k] then
      allowed_extra[k](v, key_where)
      out[k] = v
    elseif is_queue_option(k, v, where) then
      out.options[k] = v
    elseif nested and type(v) == 'table' then
      out.children[k] = nested(v, key_where)
    else
      error(string.format('%s: unknown key %q (not a queue option)', where, tostring(k)), 0)
    end
  end
  return out
end

local function string_check(v, where) expect_type(v, 'string', where) end
local function authz_check(v, where)
  expect_type(v, 'table', where)
  for _, id in ipairs(v) do expect_type(id, 'string', where .. ' entry') end
end

local function parse_tenant(tbl, where)
  local campaigns = {}
  local t = parse_level(tbl, where, {
    require_authz = authz_check,
    overall_max_message_rate = string_check,
    campaigns = function(v, w)
      expect_type(v, 'table', w)
      for name, c in pairs(v) do
        campaigns[name] = parse_level(c, w .. '.' .. name, { overall_max_message_rate = string_check }, nil)
      end
    end,
  }, nil)
  t.campaigns = campaigns
  t.children = nil
  return t
end

local function parse_queue_entry(tbl, where)
  return parse_level(tbl, where, { routing_domain = string_check, overall_max_message_rate = string_check }, function(tenant, tw)
    local t = parse_level(tenant, tw, {}, function(campaign, cw)
      return parse_level(campaign, cw, {}, nil)
    end)
    return t
  end)
end

local function parse_parsed_campaign(tbl, where)
  return parse_level(tbl, where, { overall_max_message_rate = string_check }, nil)
end

--- A parser for one level of the parsed form: options, routing_domain and
--- overall_max_message_rate, plus the named sub-tables under `child_key`
--- (`tenants` of a queue, `campaigns` of a tenant), each parsed by
--- `parse_child` into `children`.
local function parsed_level_with(child_key, parse_child)
  return function(tbl, where)
    local entry = parse_level(tbl, where, {
      routing_domain = string_check, overall_max_message_rate = string_check,
      [child_key] = function(v, w) expect_type(v, 'table', w) end,
    }, nil)
    entry.children = {}
    for name, child in pairs(entry[child_key] or {}) do
      entry.children[name] = parse_child(child, where .. '.' .. child_key .. '.' .. name)
    end
    entry[child_key] = nil
    return entry
  end
end

--- A `queues` entry, with tenants (and their campaigns) named explicitly
--- rather than implied by a non-option key.
local parse_parsed_queue_entry = parsed_level_with('tenants', parsed_level_with('campaigns', parse_parsed_campaign))

--- Parses one file (or inline table) into the normalised shape:
--- { <headers...>, tenant = { T = { options, require_authz, overall_max_message_rate, campaigns } },
---   queue = { D = { options, routing_domain, children = { T = { options, children = { C = { options } } } } } } }
function mod.parse_file(source)
  local where = type(source) == 'string' and source or '<inline table>'
  local raw = utils.load_json_or_toml_file(source)
  local out = { tenant = {}, queue = {} }
  for k, v in pairs(raw) do
    local expected = TOP_LEVEL[k]
    if not expected then error(string.format('%s: unknown top-level key %q', where, tostring(k)), 0) end
    expect_type(v, expected, where .. ': ' .. k)
  end
  for k, expected in pairs(TOP_LEVEL) do
    if expected ~= 'table' then out[k] = raw[k] end
  end
  for name, t in pairs(raw.tenants or {}) do out.tenant[name] = parse_tenant(t, where .. ': tenants.' .. name) end
  for name, t in pairs(raw.tenant or {}) do out.tenant[name] = parse_tenant(t, where .. ': tenant.' .. name) end
  for domain, q in pairs(raw.queues or {}) do out.queue[domain] = parse_parsed_queue_entry(q, where .. ': queues.' .. domain) end
  for domain, q in pairs(raw.queue or {}) do
    local parsed = parse_queue_entry(q, where .. ': queue.' .. domain)
    out.queue[domain] = out.queue[domain] and utils.recursive_merge_into(parsed, out.queue[domain]) or parsed
  end
  return out
end

local function load_data(file_names)
  local merged = {}
  for _, f in ipairs(file_names) do
    utils.recursive_merge_into(mod.parse_file(f), merged)
  end
  merged.tenant = merged.tenant or {}
  merged.queue = merged.queue or {}
  return merged
end

local function overlay(params, options)
  if options then utils.merge_into(options, params) end
end

--- Composes the parameters for (domain, tenant, campaign); with `all`, the
--- helper-only keys (routing_domain) come along too.
local function compose(data, queue_map, domain, tenant, campaign, all)
  local params = { refresh_strategy = 'Epoch' }
  local default = queue_map['default']
  local entry = domain and queue_map[domain] or nil
  overlay(params, default and default.options)
  overlay(params, entry and entry.options)
  if all and entry and entry.routing_domain then params.routing_domain = entry.routing_domain end
  local t = tenant and data.tenant[tenant] or nil
  overlay(params, t and t.options)
  local per_tenant = entry and tenant and entry.children and entry.children[tenant] or nil
  overlay(params, per_tenant and per_tenant.options)
  local per_campaign = per_tenant and campaign and per_tenant.children and per_tenant.children[campaign] or nil
  overlay(params, per_campaign and per_campaign.options)
  return params
end

local Helper = {}
Helper.__index = Helper

function Helper:resolve_config(domain, tenant, campaign)
  return compose(self.load(), self.queue_map(), domain, tenant, campaign, false)
end

local function header_value(msg, name, remove)
  if not name then return nil end
  local v = msg:get_first_named_header_value(name)
  if v ~= nil and remove then msg:remove_all_named_headers(name) end
  return v
end

function Helper:apply(msg)
  local data = self.load()
  if data.scheduling_header then msg:import_scheduling_header(data.scheduling_header, true) end

  local campaign = header_value(msg, data.campaign_header, data.remove_campaign_header)
  if campaign then msg:set_meta('campaign', campaign) end

  local tenant, origin = header_value(msg, data.tenant_header, data.remove_tenant_header), nil
  if tenant then
    origin = 'the ' .. data.tenant_header .. ' header'
  elseif data.default_tenant then
    tenant, origin = data.default_tenant, 'default_tenant'
  end
  if tenant then
    local t = data.tenant[tenant]
    if not t then
      kumo.reject(500, string.format('tenant %s (from %s) is not defined in the queue helper data', tenant, origin))
    end
    if t.require_authz then
      local authz = msg:get_meta 'authz_id'
      if authz == nil then
        kumo.reject(500, string.format('tenant %s requires SMTP AUTH', tenant))
      end
      if not utils.table_contains(t.require_authz, authz) then
        kumo.reject(500, string.format('authz_id %s is not authorized to use tenant %s', tostring(authz), tenant))
      end
    end
    msg:set_meta('tenant', tenant)
  end

  local first = msg:recipient_list()[1]
  local composed = compose(data, self.queue_map(), first and first.domain, tenant, campaign, true)
  if composed.routing_domain then msg:set_meta('routing_domain', composed.routing_domain) end
end

local resolve_provider_cached = nil

--- The provider name shaping gives `routing_domain or domain` (nil when none or on error).
function mod:resolve_provider(domain, routing_domain)
  resolve_provider_cached = resolve_provider_cached or kumo.memoize(function(target)
    local ok, provider = pcall(function()
      local site = kumo.dns.lookup_mx(target).site_name
      return kumo.invoke_get_egress_path_config(target, 'unspecified', site).provider_name
    end)
    if ok and type(provider) == 'string' then return provider end
    return nil
  end, { name = 'queue.lua_resolve_provider', ttl = '1 minute', capacity = 1024, invalidate_with_epoch = true })
  return resolve_provider_cached(routing_domain or domain)
end

local function rate_throttle(name, spec, msg)
  return kumo.make_throttle(name, spec):delay_message_if_throttled(msg)
end

local function register_events(helper, skip_queue_config_hook)
  if not skip_queue_config_hook then
    kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
      local params = helper:resolve_config(domain, tenant, campaign)
      if params.provider_name == nil then params.provider_name = mod:resolve_provider(domain, routing_domain) end
      return kumo.make_queue_config(params)
    end)
  end

  kumo.on('throttle_insert_ready_queue', function(msg)
    local tenant = msg:get_meta 'tenant'
    if tenant == nil then return end
    local t = helper.load().tenant[tenant]
    if not t then return end
    if t.overall_max_message_rate
      and rate_throttle('queue-helper-tenant-overall_max_message_rate-' .. tenant, t.overall_max_message_rate, msg) then
      return true
    end
    local campaign = msg:get_meta 'campaign'
    local c = campaign and t.campaigns[campaign]
    if c and c.overall_max_message_rate then
      -- KumoMTA builds this throttle with the tenant's spec; kept, falling back to the campaign's when the tenant has none.
      local spec = t.overall_max_message_rate or c.overall_max_message_rate
      if rate_throttle('queue-helper-tenant-campaign-overall_max_message_rate-' .. tenant .. '-' .. campaign, spec, msg) then
        return true
      end
    end
  end)
end

--- setup_with_options{ file_names, skip_queue_config_hook?, invalidate_with_epoch? } → helper
function mod:setup_with_options(options)
  if options == nil and self ~= mod then options = self end -- queue.setup_with_options { ... }
  if mod.CONFIGURED then error('queue module has already been configured', 2) end
  utils.assert_known_keys(options, { 'file_names', 'skip_queue_config_hook', 'invalidate_with_epoch' }, 'queue:setup_with_options')
  local file_names = options.file_names
  expect_type(file_names, 'table', 'queue:setup_with_options: file_names')
  local epoch = options.invalidate_with_epoch ~= false

  local get = data_cache.new {
    name = 'queue_helper_data', ttl = '1 minute', invalidate_with_epoch = epoch,
    load = function() return load_data(file_names) end,
  }
  local function load() return (get()) end
  local function queue_map()
    local data, map_of = get()
    return map_of('queue', data.queue)
  end
  -- Fail at setup, at the policy's line, when the data is bad.
  load()

  local helper = setmetatable({ load = load, queue_map = queue_map, file_names = file_names }, Helper)
  register_events(helper, options.skip_queue_config_hook)
  mod.CONFIGURED = { helper = helper, file_names = file_names, skip_queue_config_hook = options.skip_queue_config_hook }
  return helper
end

function mod:setup(file_names)
  if file_names == nil and self ~= mod then file_names = self end -- queue.setup { ... }
  return mod.setup_with_options(mod, { file_names = file_names })
end

require('policy-extras.queue_validate').register(mod)

return mod
