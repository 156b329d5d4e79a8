--[[
policy-extras.sources — egress sources and pools from TOML/JSON files
(KumoMTA's helper of the same name, written for kumo-lua from its description).

  require('policy-extras.sources'):setup { '/etc/kumo/sources.toml' }

  [source."vmta-a"]            # any make_egress_source key except name
  source_address = "192.0.2.10"
  [pool."shared"."vmta-a"]     # a member; only key: weight (default 1)
  weight = 3

setup registers get_egress_source and get_egress_pool (single-handler
events: the policy must not register them too).
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}
mod.CONFIGURED = nil

local function check_source_option(key, value, where)
  if key == 'name' then error(string.format('%s: `name` is implied by the section name', where), 0) end
  local ok, err = pcall(kumo.make_egress_source, { name = 'dummy', [key] = value })
  if not ok then error(string.format('%s.%s: %s', where, tostring(key), tostring(err)), 0) end
end

--- Parses one file (or inline table) into { sources = { [name] = params }, pools = { [name] = { [member] = weight... } } }.
local function parse_file(source)
  local where = type(source) == 'string' and source or '<inline table>'
  local raw = utils.load_json_or_toml_file(source)
  local out = { sources = {}, pools = {} }
  for k, v in pairs(raw) do
    if k ~= 'source' and k ~= 'pool' then
      error(string.format('%s: unknown top-level key %q, expected source or pool', where, tostring(k)), 0)
    end
    if type(v) ~= 'table' then error(string.format('%s: %s must be a table', where, k), 0) end
  end
  for name, params in pairs(raw.source or {}) do
    local w = string.format('%s: source.%s', where, name)
    if type(params) ~= 'table' then error(w .. ' must be a table', 0) end
    for key, value in pairs(params) do check_source_option(key, value, w) end
    out.sources[name] = params
  end
  for name, members in pairs(raw.pool or {}) do
    local w = string.format('%s: pool.%s', where, name)
    if type(members) ~= 'table' then error(w .. ' must be a table', 0) end
    local entries = {}
    for _, member in ipairs(utils.table_keys(members)) do
      local spec = members[member]
      if type(spec) ~= 'table' then error(string.format('%s.%s must be a table', w, member), 0) end
      utils.assert_known_keys(spec, { 'weight' }, w .. '.' .. member)
      if spec.weight ~= nil and math.type(spec.weight) ~= 'integer' then
        error(string.format('%s.%s.weight must be an integer', w, member), 0)
      end
      entries[#entries + 1] = { name = member, weight = spec.weight or 1 }
    end
    out.pools[name] = entries
  end
  return out
end

--- Source params merge key-wise (later wins); pool members are appended.
local function load_data(file_names)
  local data = { sources = {}, pools = {} }
  for _, f in ipairs(file_names) do
    local parsed = parse_file(f)
    for name, params in pairs(parsed.sources) do
      data.sources[name] = utils.merge(data.sources[name], params)
    end
    for name, entries in pairs(parsed.pools) do
      local pool = data.pools[name] or { name = name, entries = {} }
      for _, e in ipairs(entries) do pool.entries[#pool.entries + 1] = e end
      data.pools[name] = pool
    end
  end
  return data
end

local function validate(get_data)
  local ok, data = pcall(get_data)
  if not ok then
    print('sources: ' .. tostring(data))
    kumo.validation_failed()
    return
  end
  local failed = false
  for name, params in pairs(data.sources) do
    local built, err = pcall(kumo.make_egress_source, utils.merge(params, { name = name }))
    if not built then
      print(string.format('sources: source %s: %s', name, tostring(err)))
      failed = true
    end
  end
  for name, pool in pairs(data.pools) do
    local built, err = pcall(kumo.make_egress_pool, { name = name, entries = pool.entries })
    if not built then
      print(string.format('sources: pool %s: %s', name, tostring(err)))
      failed = true
    end
    for _, e in ipairs(pool.entries) do
      if data.sources[e.name] == nil then
        print(string.format('sources: pool %s lists source %s, which is not defined', name, e.name))
      end
    end
  end
  if failed then kumo.validation_failed() end
end

function mod:setup(file_names)
  if file_names == nil and self ~= mod then file_names = self end -- sources.setup { ... }
  if mod.CONFIGURED then error('sources module has already been configured', 2) end
  if type(file_names) ~= 'table' then error('sources:setup expects a list of data files (or inline tables)', 2) end
  local get_data = kumo.memoize(function() return load_data(file_names) end,
    { name = 'sources_data', ttl = '5 minutes', capacity = 10, invalidate_with_epoch = true })

  kumo.on('get_egress_source', function(name)
    local params = get_data().sources[name]
    if params == nil then error(string.format('sources: egress source %q is not defined', name)) end
    return kumo.make_egress_source(utils.merge(params, { name = name }))
  end)
  kumo.on('get_egress_pool', function(name)
    local pool = get_data().pools[name]
    if pool == nil then error(string.format('sources: egress pool %q is not defined', name)) end
    return kumo.make_egress_pool { name = name, entries = pool.entries }
  end)

  mod.CONFIGURED = { get_data = get_data, file_names = file_names }
end

kumo.on('validate_config', function()
  if mod.CONFIGURED then validate(mod.CONFIGURED.get_data) end
end)

return mod
