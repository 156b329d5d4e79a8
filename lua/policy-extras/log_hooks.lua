--[[
policy-extras.log_hooks — wires a log hook to a custom_lua delivery queue.
Written for kumo-lua (clean room) to the API of KumoMTA's helper of the same
name; docs/policy-extras.md lists where it deliberately differs.

  local log_hooks = require 'policy-extras.log_hooks'
  log_hooks:new_json { name = 'webhook', url = 'https://collector.example/hook' }

Everything is registered with kumo.on when :new* is called, so call it at the
top level of the policy. kumo.configure_log_hook runs later, from pre_init.
]]
local kumo = require 'kumo'
local typing = require 'policy-extras.typing'
local utils = require 'policy-extras.policy_utils'
local sender = require 'policy-extras.webhook_sender'

local mod = {}

local Option, List, Map = typing.option, typing.list, typing.map
local String, Integer, Boolean, Func, Table, Any = typing.string, typing.integer, typing.boolean, typing.func,
  typing.table, typing.any

--- Defaults for the hook queue; `queue_config` entries override them.
mod.DEFAULT_QUEUE_CONFIG = { retry_interval = '1m', max_retry_interval = '20m' }

local PositiveInteger = typing.refine(Integer, 'positive integer', function(v)
  if v < 1 then return 'must be at least 1, got ' .. tostring(v) end
end)

-- The keys kumo.configure_log_hook accepts besides `name` (lua-api.md §5.1).
local LogParameters = typing.record('log_parameters', {
  name = Option(String),
  back_pressure = Option(Integer),
  meta = Option(List(String)),
  headers = Option(List(String)),
  per_record = Option(Table),
  deferred_spool = Option(Boolean),
})

local COMMON_FIELDS = {
  name = String,
  log_parameters = Option(Table),
  queue_config = Option(Map(String, Any)),
  batch_size = Option(PositiveInteger),
  min_batch_size = Option(PositiveInteger),
  max_batch_latency = Option(typing.duration),
  filter = Option(Func),
}

local NewParams = typing.record('log_hooks:new', utils.merge(COMMON_FIELDS, { constructor = Func }))

local BasicAuth = typing.record('basic_auth', { username = String, password = Option(String) })

local NewJsonParams = typing.record('log_hooks:new_json', utils.merge(COMMON_FIELDS, {
  url = String,
  headers = Option(Map(String, String)),
  bearer_token = Option(String),
  basic_auth = Option(BasicAuth),
  signing_secret = Option(typing.union(String, Table)),
  timeout = Option(typing.duration),
  user_agent = Option(String),
}))

local DispositionParams = typing.record('log_hooks:new_disposition_hook', {
  name = String,
  hook = Func,
  per_record = Option(Table),
})

-- Accepts both log_hooks:new{...} and log_hooks.new{...}.
local function params_of(self, params)
  if self == mod then return params end
  if params == nil then return self end
  return params
end

-- Validates `params` against `record`; raises "<fn>: <field>: <problem>" at the policy's call site.
local function validate(record, params, level)
  if type(params) ~= 'table' then
    error(string.format('%s: expected a table of options, got %s', record.name, typing.describe(params)), level + 1)
  end
  local ok, result = record:check(params)
  if not ok then error(record.name .. ': ' .. result, level + 1) end
  return result
end

local function check_name(fname, name, level)
  if name == '' or name:find('[@!%s]') then
    error(string.format("%s: name: %q cannot be used as a queue name (it must be non-empty and contain no '@', '!' or spaces)",
      fname, name), level + 1)
  end
end

-- Each check of a queue_config key runs kumo.make_queue_config on that key alone,
-- so a mistake is reported against the key that holds it.
local function check_queue_config(fname, queue_config, level)
  if queue_config == nil then return end
  if queue_config.protocol ~= nil then
    error(fname .. ': queue_config.protocol: log_hooks sets the protocol itself; use batch_size, min_batch_size and max_batch_latency', level + 1)
  end
  local make = rawget(kumo, 'make_queue_config')
  if type(make) ~= 'function' then return end
  for _, key in ipairs(utils.table_keys(queue_config)) do
    local ok, err = pcall(make, { [key] = queue_config[key] })
    if not ok then
      local inner = typing.extract_deserialize_error(err) or tostring(err)
      error(string.format('%s: queue_config.%s: %s', fname, key, inner), level + 1)
    end
  end
end

local function check_log_parameters(fname, name, log_parameters, level)
  if log_parameters == nil then return {} end
  local ok, err = LogParameters:check(log_parameters, 'log_parameters')
  if not ok then error(fname .. ': ' .. err, level + 1) end
  if log_parameters.name ~= nil and log_parameters.name ~= name then
    error(string.format('%s: log_parameters.name (%q) differs from name (%q); leave it out', fname,
      log_parameters.name, name), level + 1)
  end
  return log_parameters
end

-- Hooks set up in this Lua state, so a repeated name fails with a clear message.
local defined = {}

local function claim_name(fname, name, level)
  if defined[name] then
    error(string.format("%s: a hook named '%s' was already set up by log_hooks:%s", fname, name, defined[name]), level + 1)
  end
end

--- The queue name used for hook `name`.
function mod.queue_name(name)
  return name .. '.log_hook'
end

--- The constructor event name used for hook `name`.
function mod.constructor_event(name)
  return 'make.' .. name .. '.log_hook'
end

-- True when the record is about a message that is itself a log-hook message.
local function is_loop(msg)
  local record = msg:get_meta('log_record')
  if type(record) ~= 'table' then return false end
  if record.reception_protocol == 'LogRecord' then return true end
  local queue = record.queue
  return type(queue) == 'string' and utils.ends_with(queue, '.log_hook')
end

-- kumo.on, with a failure reported against the policy line that called log_hooks:<fname>
-- (frames: on_event -> register -> log_hooks:<fname> -> policy).
local function on_event(fname, event, handler)
  local ok, err = pcall(kumo.on, event, handler)
  if not ok then error('log_hooks:' .. fname .. ': ' .. tostring(err), 4) end
end

local function register(fname, p, constructor)
  local name = p.name
  local queue = mod.queue_name(name)
  local event = mod.constructor_event(name)

  local hook_params = utils.merge(p.log_parameters)
  hook_params.name = name

  local queue_config = utils.merge(mod.DEFAULT_QUEUE_CONFIG, p.queue_config)
  queue_config.protocol = {
    custom_lua = {
      constructor = event,
      batch_size = p.batch_size,
      min_batch_size = p.min_batch_size,
      max_batch_latency = p.max_batch_latency,
    },
  }

  -- The constructor first: it is the registration most likely to clash with the
  -- policy's own handlers, and failing here leaves nothing half-registered.
  on_event(fname, event, constructor)

  on_event(fname, 'pre_init', function()
    kumo.configure_log_hook(hook_params)
    -- no return value: a value here would stop later pre_init handlers
  end)

  local filter = p.filter
  on_event(fname, 'should_enqueue_log_record', function(msg, hook_name)
    if hook_name ~= name then return end
    if is_loop(msg) then return false end
    if filter and filter(msg, hook_name) then return false end
    msg:set_meta('queue', queue)
    return true
  end)

  on_event(fname, 'get_queue_config', function(domain, tenant, campaign, routing_domain)
    if domain ~= queue then return end
    return kumo.make_queue_config(queue_config)
  end)

  defined[name] = fname
end

--- log_hooks:new{ name, constructor, log_parameters?, queue_config?, batch_size?,
---   min_batch_size?, max_batch_latency?, filter? }
function mod.new(self, params)
  local fname = 'log_hooks:new'
  local p = validate(NewParams, params_of(self, params), 2)
  check_name(fname, p.name, 2)
  check_log_parameters(fname, p.name, p.log_parameters, 2)
  check_queue_config(fname, p.queue_config, 2)
  claim_name(fname, p.name, 2)
  register('new', p, p.constructor)
end

local function check_url(fname, url, level)
  if not (url:match('^https?://[^/%s]') ) then
    error(string.format('%s: url: %q is not an http:// or https:// URL', fname, url), level + 1)
  end
end

--- log_hooks:new_json{ name, url, log_parameters?, queue_config?, batch_size?,
---   min_batch_size?, max_batch_latency?, filter?, headers?, bearer_token?,
---   basic_auth?, signing_secret?, timeout?, user_agent? }
function mod.new_json(self, params)
  local fname = 'log_hooks:new_json'
  local p = validate(NewJsonParams, params_of(self, params), 2)
  check_name(fname, p.name, 2)
  check_url(fname, p.url, 2)
  check_log_parameters(fname, p.name, p.log_parameters, 2)
  check_queue_config(fname, p.queue_config, 2)
  if p.bearer_token and p.basic_auth then
    error(fname .. ': bearer_token and basic_auth cannot both be set', 2)
  end
  local ok, options = pcall(sender.prepare, {
    url = p.url,
    headers = p.headers,
    bearer_token = p.bearer_token,
    basic_auth = p.basic_auth,
    signing_secret = p.signing_secret,
    timeout = p.timeout,
    user_agent = p.user_agent,
  })
  if not ok then error(fname .. ': ' .. tostring(options), 2) end
  claim_name(fname, p.name, 2)
  register('new_json', p, function(domain, tenant, campaign)
    return sender.connect(options)
  end)
end

local function register_disposition(name, hook_params, hook)
  on_event('new_disposition_hook', 'log_disposition_' .. name, hook)
  on_event('new_disposition_hook', 'pre_init', function()
    kumo.configure_log_disposition_hook(hook_params)
  end)
  defined[name] = 'new_disposition_hook'
end

--- log_hooks:new_disposition_hook{ name, hook, per_record? }
function mod.new_disposition_hook(self, params)
  local fname = 'log_hooks:new_disposition_hook'
  local p = validate(DispositionParams, params_of(self, params), 2)
  if p.name == '' then error(fname .. ': name: must not be empty', 2) end
  claim_name(fname, p.name, 2)
  local hook_params = { name = p.name, per_record = p.per_record }
  register_disposition(p.name, hook_params, p.hook)
end

return mod
