-- Outbound SMTP: every message goes to a smart host (mx_list), except one
-- domain that is delivered straight to its MX. Deferrals are retried with
-- backoff; a "mailbox full" deferral is made final by the
-- smtp_client_rewrite_delivery_status event. Runs unchanged on KumoMTA.
local kumo = require 'kumo'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua/smtp-delivery'
local SMART_HOST = os.getenv('SMART_HOST') or 'smarthost.example.net'


kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'partner.example' then
    -- protocol defaults to smtp: resolve partner.example's MX.
    return kumo.make_queue_config { retry_interval = '1m', max_age = '1h' }
  end
  return kumo.make_queue_config {
    retry_interval = '5m',
    max_retry_interval = '1h',
    max_age = '2d',
    protocol = { smtp = { mx_list = { SMART_HOST } } },
  }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    enable_tls = 'OpportunisticInsecure', -- the smart host uses a self-signed certificate
    connection_limit = 4,
    max_deliveries_per_connection = 100,
  }
end)

-- A full mailbox will not empty itself within max_age: bounce it now.
kumo.on('smtp_client_rewrite_delivery_status', function(response, domain, tenant, campaign, routing_domain)
  if response:find('^452 4%.2%.2') then
    return 550
  end
end)
