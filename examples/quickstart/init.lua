-- kumo-lua quickstart: mail in over HTTP and SMTP, delivered over SMTP to an
-- MX (`kumo-lua demo` runs one on 127.0.0.1:2526 that writes a Maildir), and
-- every Reception/Delivery/failure event published as JSON to a webhook.
-- Runs unchanged on KumoMTA (paths aside).
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '.kumo-lua/quickstart'
local WEBHOOK_URL = os.getenv('WEBHOOK_URL') or 'http://127.0.0.1:4242/events'
local HTTP_LISTEN = os.getenv('HTTP_LISTEN') or '127.0.0.1:8000'
local SMTP_LISTEN = os.getenv('SMTP_LISTEN') or '127.0.0.1:2525'
-- Where mail goes: every domain is relayed to this host:port.
local MX = os.getenv('MX') or 'localhost:2526'

-- Publish every log record to the webhook, with the subject and any X- headers.
log_hooks:new_json {
  name = 'webhook',
  url = WEBHOOK_URL,
  log_parameters = {
    headers = { 'Subject', 'X-*' },
  },
}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs', max_segment_duration = '1 minute' }
  kumo.start_http_listener { listen = HTTP_LISTEN }
  kumo.start_esmtp_listener { listen = SMTP_LISTEN, relay_hosts = { '127.0.0.1' } }
end)

-- Ordinary mail is relayed to MX over SMTP; the webhook's own queue is
-- configured by log_hooks, which answers get_queue_config for
-- 'webhook.log_hook' first.
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config {
    retry_interval = '1m',
    protocol = { smtp = { mx_list = { MX } } },
  }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    prohibited_hosts = {},                -- the demo MX runs on this machine (loopback is refused by default)
    ip_lookup_strategy = 'Ipv4Only',      -- localhost is 127.0.0.1 here
    enable_tls = 'OpportunisticInsecure', -- a local MX's certificate is self-signed
  }
end)
