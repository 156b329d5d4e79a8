--[[
policy-extras.shaping_automation — the shaping daemon side of
policy-extras.shaping (internal): publishing log records to a daemon's
`/publish_log_v1`, and the two tasks that subscribe to its suspensions and
watch its configuration. Without publish/subscribe URLs none of this runs and
the shaping rules still apply; automation rules then wait for a daemon.
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

--- The log hook name for a publish URL, and its constructor event.
function mod.hook_name(url) return url .. '.tsa.kumomta' end
function mod.constructor_event(url) return 'make.' .. mod.hook_name(url) end

mod.DEFAULT_SKIP_LOG_RECORD_TYPES = {
  'AdminRebind', 'DeferredInjectionRebind', 'Delayed', 'Reception', 'Rejection', 'XferIn', 'XferOut',
}

local said_no_daemon = false

local function say_no_daemon_once()
  if said_no_daemon then return end
  said_no_daemon = true
  kumo.log_info('shaping: no shaping daemon (publish/subscribe URLs) configured; shaping rules apply, '
    .. 'automation rules are loaded and validated but nothing acts on them')
end

local Publisher = {}
Publisher.__index = Publisher

function Publisher:send(msg)
  local req = self.client:post(self.url .. '/publish_log_v1')
  req:header('Content-Type', 'application/json')
  req:body(msg:get_data())
  local resp = req:send()
  local text = string.format('%d %s: %s', resp:status_code(), resp:status_reason() or '', resp:text())
  if resp:status_is_success() then return text end
  kumo.reject(400, text)
end

function Publisher:close()
  self.client:close()
end

--- Registers the publishing events for opts.publish and returns setup_publish (call it in init).
function mod.register(opts, load_shaping_data, quiet)
  if not quiet and #opts.publish == 0 and #opts.subscribe == 0 then say_no_daemon_once() end

  local skip = {}
  for _, t in ipairs(opts.skip_log_record_types or mod.DEFAULT_SKIP_LOG_RECORD_TYPES) do skip[t] = true end
  for _, t in ipairs(opts.additional_skip_log_record_types or {}) do skip[t] = true end

  local hooks = {}
  for _, url in ipairs(opts.publish) do
    local hook = mod.hook_name(url)
    hooks[hook] = url
    kumo.on(mod.constructor_event(url), function(domain, tenant, campaign)
      local client = kumo.http.build_client {
        timeout = opts.publish_timeout or '1 minute',
        pool_idle_timeout = opts.publish_pool_idle_timeout or '90 seconds',
        connection_verbose = opts.publish_connection_verbose,
      }
      return setmetatable({ url = url, client = client }, Publisher)
    end)
  end

  if next(hooks) then
    kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
      if not hooks[domain] then return end
      local params = utils.merge({ retry_interval = '1m', max_retry_interval = '20m' }, opts.tsa_queue_config)
      params.protocol = { custom_lua = { constructor = 'make.' .. domain } }
      return kumo.make_queue_config(params)
    end)

    kumo.on('should_enqueue_log_record', function(msg, hook_name)
      if not hooks[hook_name] then return end
      local record = msg:get_meta 'log_record'
      if record.reception_protocol == 'LogRecord' then return false end
      if hooks[record.queue] then return false end
      if skip[record.type] then return false end
      if opts.pre_filter and #load_shaping_data():match_rules(record) == 0 then return false end
      msg:set_meta('queue', hook_name)
      return true
    end)
  end

  return function()
    local per_record = {}
    for t in pairs(skip) do per_record[t] = { enable = false } end
    for hook in pairs(hooks) do
      kumo.configure_log_hook { name = hook, per_record = per_record, back_pressure = opts.back_pressure }
    end
    if #opts.subscribe > 0 then
      for _, url in ipairs(opts.subscribe) do
        kumo.spawn_task { event_name = 'kumo.tsa.suspension.subscriber', args = { url } }
      end
      kumo.spawn_task { event_name = 'kumo.tsa.config.monitor', args = {} }
    end
  end
end

local function suspension_reason(x)
  return string.format('%s (rule_hash=%s)', tostring(x.reason), tostring(x.rule_hash))
end

--- Acts on one event from the daemon's subscription stream.
function mod.apply_event(item)
  local admin = kumo.api.admin
  if item.ReadyQSuspension then
    local x = item.ReadyQSuspension
    admin.suspend_ready_q.suspend { name = x.site_name, reason = suspension_reason(x), expires = x.expires }
  elseif item.SchedQSuspension then
    local x = item.SchedQSuspension
    admin.suspend.suspend { campaign = x.campaign, domain = x.domain, tenant = x.tenant, reason = suspension_reason(x), expires = x.expires }
  elseif item.SchedQBounce then
    local x = item.SchedQBounce
    admin.bounce.bounce { campaign = x.campaign, domain = x.domain, tenant = x.tenant, reason = suspension_reason(x), expires = x.expires }
  else
    kumo.log_warn('shaping: ignoring an unknown event from the shaping daemon: ' .. kumo.serde.json_encode(item))
  end
end

--- Reads one websocket stream until it closes or fails (the error is raised).
local function consume(url)
  local stream = kumo.http.connect_websocket(url)
  while true do
    for _, text in ipairs(stream:recv_batch '3s') do
      mod.apply_event(kumo.serde.json_parse(text))
    end
  end
end

--- The task handlers; registered at require time so spawn_task finds them.
function mod.register_tasks(get_configured)
  kumo.on('kumo.tsa.suspension.subscriber', function(args)
    local base = tostring(args[1]):gsub('^http', 'ws')
    local path = '/subscribe_event_v1'
    local complained = false
    while true do
      local ok, err = pcall(consume, base .. path)
      if not ok and path == '/subscribe_event_v1' and tostring(err):find('404', 1, true) then
        path = '/subscribe_suspension_v1' -- an older daemon
      else
        if not complained then
          kumo.log_warn(string.format('shaping: no shaping daemon answers at %s (%s); retrying every 30 seconds', base .. path, tostring(err)))
          complained = true
        end
        kumo.sleep(30)
      end
    end
  end)

  kumo.on('kumo.tsa.config.monitor', function(args)
    local last_hash = nil
    while true do
      local configured = get_configured()
      if configured then
        local ok, data = pcall(kumo.shaping.load, configured.files, configured.options.load_validation_options)
        if ok then
          local hash = data:hash()
          if last_hash and hash ~= last_hash then kumo.bump_config_epoch() end
          last_hash = hash
        else
          kumo.log_error('shaping: reloading the shaping files failed: ' .. tostring(data))
        end
      end
      kumo.sleep(30)
    end
  end)
end

return mod
