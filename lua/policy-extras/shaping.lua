--[[
policy-extras.shaping — traffic shaping from TOML/JSON files (KumoMTA's
helper of the same name, written for kumo-lua from its description).

  local shaping = require 'policy-extras.shaping'
  kumo.on('get_egress_path_config', shaping:setup { '/etc/kumo/shaping.toml' })

Files are merged by kumo.shaping.load (src/shaping/); this module caches the
result, answers get_egress_path_config, validates the files and, with
`publish` / `subscribe` URLs, talks to a shaping daemon (shaping_automation.lua).
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local automation = require 'policy-extras.shaping_automation'

local mod = {}
local CONFIGURED = nil

--- Where KumoMTA keeps its default file; ours sits next to this module.
local KUMOMTA_DEFAULT_FILE = '/opt/kumomta/share/policy-extras/shaping.toml'

local function default_file()
  local f = io.open(KUMOMTA_DEFAULT_FILE, 'r')
  if f then
    f:close()
    return KUMOMTA_DEFAULT_FILE
  end
  local here = package.searchpath('policy-extras.shaping', package.path)
  return here and (here:gsub('shaping%.lua$', 'shaping.toml')) or nil
end

local OPTION_NAMES = {
  'extra_files', 'no_default_files', 'publish', 'subscribe', 'tsa_queue_config', 'back_pressure', 'cache_ttl',
  'load_validation_options', 'validation_options', 'pre_filter', 'skip_log_record_types',
  'additional_skip_log_record_types', 'retry_shaping_data_fetch_on_populate_timeout',
  'shaping_data_populate_timeout', 'allow_stale_shaping_data', 'publish_timeout', 'publish_pool_idle_timeout',
  'publish_connection_verbose',
}

mod.DEFAULT_SKIP_LOG_RECORD_TYPES = automation.DEFAULT_SKIP_LOG_RECORD_TYPES

local function as_list(value, what)
  if value == nil then return {} end
  if type(value) == 'string' then return { value } end
  if type(value) ~= 'table' then error(string.format('shaping: %s must be a list of strings, got %s', what, type(value)), 4) end
  return value
end

local function shaping_files(opts)
  local files = {}
  if not opts.no_default_files then
    local f = default_file()
    if f then files[#files + 1] = f end
  end
  for _, f in ipairs(opts.extra_files) do files[#files + 1] = f end
  for _, url in ipairs(opts.subscribe) do files[#files + 1] = url .. '/get_config_v1/shaping.toml' end
  return files
end

local function log_problems(data)
  for _, e in ipairs(data:get_errors()) do kumo.log_error('shaping: ' .. e) end
  for _, w in ipairs(data:get_warnings()) do kumo.log_warn('shaping: ' .. w) end
end

--- The sources helper's data when it was set up (nil otherwise).
local function configured_sources()
  local sources = package.loaded['policy-extras.sources']
  if type(sources) == 'table' and sources.CONFIGURED then return sources.CONFIGURED.get_data() end
  return nil
end

local function validate(files, options)
  local ok, data = pcall(kumo.shaping.load, files, options)
  if not ok then
    print('shaping: ' .. tostring(data))
    kumo.validation_failed()
    return
  end
  local failed = false
  for _, w in ipairs(data:get_warnings()) do print('shaping warning: ' .. w) end
  for _, e in ipairs(data:get_errors()) do
    print('shaping error: ' .. e)
    failed = true
  end
  local sources = configured_sources()
  if sources then
    for source, places in pairs(data:get_referenced_sources()) do
      if source ~= 'my source name' and sources.sources[source] == nil then
        print(string.format('shaping: source %q (used in %s) is not defined by policy-extras.sources', source, table.concat(places, ', ')))
        failed = true
      end
    end
  end
  if failed then kumo.validation_failed() end
end

--- setup_with_automation{ extra_files, no_default_files, publish, subscribe, ... }
--- → { get_egress_path_config, setup_publish, load_shaping_data }
local function configure(opts, quiet)
  if CONFIGURED then error('shaping module has already been configured', 3) end
  opts = utils.shallow_copy(opts or {})
  utils.assert_known_keys(opts, OPTION_NAMES, 'shaping:setup_with_automation')
  opts.extra_files = as_list(opts.extra_files, 'extra_files')
  opts.publish = as_list(opts.publish, 'publish')
  opts.subscribe = as_list(opts.subscribe, 'subscribe')
  if opts.pre_filter == nil then opts.pre_filter = true end

  local files = shaping_files(opts)
  local load_shaping_data = kumo.memoize(function()
    local data = kumo.shaping.load(files, opts.load_validation_options)
    log_problems(data)
    return data
  end, {
    name = 'shaping_data',
    ttl = opts.cache_ttl or '1 minute',
    capacity = 4,
    invalidate_with_epoch = true,
    populate_timeout = opts.shaping_data_populate_timeout,
    retry_on_populate_timeout = opts.retry_shaping_data_fetch_on_populate_timeout,
    allow_stale_reads = opts.allow_stale_shaping_data,
  })

  local function get_egress_path_config(domain, egress_source, site_name)
    local data = load_shaping_data()
    local params = data:get_egress_path_config(domain, egress_source, site_name)
    if params.refresh_strategy == nil then params.refresh_strategy = 'Epoch' end
    return kumo.make_egress_path(params)
  end

  CONFIGURED = { files = files, options = opts, load_shaping_data = load_shaping_data }
  local setup_publish = automation.register(opts, load_shaping_data, quiet)

  return {
    get_egress_path_config = get_egress_path_config,
    setup_publish = setup_publish,
    load_shaping_data = load_shaping_data,
  }
end

function mod.setup_with_automation(self, opts)
  if opts == nil and type(self) == 'table' and self ~= mod then opts = self end
  return configure(opts, false)
end

--- setup(extra_files) → the get_egress_path_config handler (no daemon, by design: nothing to say).
function mod.setup(self, extra_files)
  if extra_files == nil and self ~= mod then extra_files = self end
  return configure({ extra_files = extra_files, publish = {}, subscribe = {} }, true).get_egress_path_config
end

-- Registered at require time, like KumoMTA's helper: inert until set up.
kumo.on('validate_config', function()
  if not CONFIGURED then return end
  local options = CONFIGURED.options.validation_options or {
    aliased_site = 'Warn', dns_fail = 'Warn', null_mx = 'Warn', provider_overlap = 'Warn',
    local_load = 'Error', skip_remote = true,
  }
  validate(CONFIGURED.files, options)
end)

automation.register_tasks(function() return CONFIGURED end)

return mod
