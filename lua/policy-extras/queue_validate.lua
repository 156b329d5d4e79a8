--[[
policy-extras.queue_validate — the validate_config checks of
policy-extras.queue (internal): data files must be watched by the config
monitor, egress pools must exist (with policy-extras.sources), and the
helper's get_queue_config must be the last one registered.
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

local function check_monitored(file_names, problems)
  local watched = utils.to_set(kumo.eval_config_monitor_globs())
  for _, f in ipairs(file_names) do
    if type(f) == 'string' and not watched[f] then
      problems[#problems + 1] = string.format(
        'queue helper data file %s is not matched by the config monitor globs (kumo.set_config_monitor_globs); edits would not be noticed', f)
    end
  end
end

local function check_pools(data, problems)
  local sources = package.loaded['policy-extras.sources']
  if type(sources) ~= 'table' or not sources.CONFIGURED then return end
  local pools = sources.CONFIGURED.get_data().pools
  local function check(options, where)
    local pool = options and options.egress_pool
    if pool and pool ~= 'unspecified' and pools[pool] == nil then
      problems[#problems + 1] = string.format('%s uses egress_pool %q, which policy-extras.sources does not define', where, pool)
    end
  end
  for name, t in pairs(data.tenant) do check(t.options, 'tenant ' .. name) end
  for domain, q in pairs(data.queue) do
    check(q.options, 'queue ' .. domain)
    for tenant, t in pairs(q.children or {}) do check(t.options, 'queue ' .. domain .. ' tenant ' .. tenant) end
  end
end

local function check_last(problems)
  local registrars = kumo.get_event_registrars('get_queue_config') or {}
  local last = registrars[#registrars]
  local frame = last and last[1] or ''
  if not frame:match('policy%-extras[/%.]queue%.lua:%d+$') then
    problems[#problems + 1] = 'the queue helper must register the last get_queue_config handler, but another one '
      .. 'was registered after it at ' .. frame .. '; set up the queue helper after your other get_queue_config handlers'
  end
end

function mod.register(queue)
  kumo.on('validate_config', function()
    local configured = queue.CONFIGURED
    if not configured then return end
    local problems = {}
    local function run(check, ...)
      local ok, err = pcall(check, ...)
      if not ok then problems[#problems + 1] = tostring(err) end
    end
    run(check_monitored, configured.file_names, problems)
    run(function() check_pools(configured.helper.load(), problems) end)
    if not configured.skip_queue_config_hook then run(check_last, problems) end
    for _, p in ipairs(problems) do print('queue helper: ' .. p) end
    if #problems > 0 then kumo.validation_failed() end
  end)
end

return mod
