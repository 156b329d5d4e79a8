-- A full sending policy in the style of KumoMTA's configuration guide, built
-- from the policy-extras helpers and the data files next to this file:
--
--   sources.toml           egress sources and pools       policy-extras.sources
--   queues.toml            tenants, campaigns, queues     policy-extras.queue
--   shaping.toml           per-destination traffic rules  policy-extras.shaping
--   dkim_data.toml         DKIM signing per From domain   policy-extras.dkim_sign
--   listener_domains.toml  what the SMTP listener takes   policy-extras.listener_domains
--
-- plus a JSON webhook for every log record (policy-extras.log_hooks).
--
-- A message arriving over SMTP or HTTP gets its tenant and campaign from its
-- headers (queue helper), is DKIM-signed, and lands in the queue
-- "<campaign>:<tenant>@<domain>". Its tenant's egress pool picks a source,
-- and shaping decides how that source may talk to the destination.
local kumo = require 'kumo'

-- Where the data files live. Tests set FULL_POLICY_DATA_DIR (a global, or the
-- environment variable) to this directory.
local DATA = rawget(_G, 'FULL_POLICY_DATA_DIR') or os.getenv('FULL_POLICY_DATA_DIR') or '/opt/kumomta/etc/policy'
local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'

local sources = require 'policy-extras.sources'
local shaping = require 'policy-extras.shaping'
local dkim_sign = require 'policy-extras.dkim_sign'
local listener_domains = require 'policy-extras.listener_domains'
local log_hooks = require 'policy-extras.log_hooks'
local queue_module = require 'policy-extras.queue'

sources:setup { DATA .. '/sources.toml' }

-- No shaping daemon here: the rules apply, automation rules wait for one
-- (add publish/subscribe URLs to use a daemon).
local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { DATA .. '/shaping.toml' },
}
kumo.on('get_egress_path_config', shaper.get_egress_path_config)

-- Data files and inline tables merge: the key file path is added here.
local dkim_signer = dkim_sign:setup {
  DATA .. '/dkim_data.toml',
  { domain = { ['example.com'] = { filename = DATA .. '/dkim/example.com/s1.key' } } },
}

kumo.on('get_listener_domain', listener_domains:setup { DATA .. '/listener_domains.toml' })

log_hooks:new_json {
  name = 'webhook',
  url = 'https://events.example.com/kumo',
  log_parameters = { headers = { 'Subject' }, meta = { 'tenant', 'campaign' } },
}

-- Last: the queue helper's get_queue_config answers every queue, so the log
-- hook's handler (registered above) must come before it.
local queue_helper = queue_module:setup { DATA .. '/queues.toml' }

kumo.on('init', function()
  -- Edits to the data files apply without a restart (the queue helper checks this).
  kumo.set_config_monitor_globs { DATA .. '/*.toml' }
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', relay_hosts = { '127.0.0.1' } }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
  shaper.setup_publish()
end)

local function prepare(msg)
  queue_helper:apply(msg)
  dkim_signer(msg)
end

kumo.on('smtp_server_message_received', prepare)
kumo.on('http_message_generated', prepare)
