-- Batched webhook: every log record goes to a collector, up to 50 records per
-- HTTP request, as one JSON array.
--
-- Good for collectors that charge (or struggle) per request: at a steady
-- trickle a record waits at most MAX_LATENCY before it is sent, and at a busy
-- moment full batches of BATCH_SIZE go out as fast as the collector accepts them.
--
-- The collector must answer 2xx for the whole batch. 408, 429, 5xx or a
-- network error means "try again later": the whole batch stays queued and is
-- posted again on the retry schedule below. Any other status bounces it.
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'
local COLLECTOR_URL = os.getenv('COLLECTOR_URL') or 'https://collector.example.com/v1/mail-events'
local COLLECTOR_TOKEN = os.getenv('COLLECTOR_TOKEN') or 'change-me'

local BATCH_SIZE = 50
local MAX_LATENCY = '10s'

log_hooks:new_json {
  name = 'collector',
  url = COLLECTOR_URL,
  bearer_token = COLLECTOR_TOKEN,
  headers = { ['X-Source'] = 'kumo-lua' },
  timeout = '30s',

  -- Wait until BATCH_SIZE records are ready, but never longer than
  -- MAX_LATENCY: a partial batch is sent when the latency runs out.
  batch_size = BATCH_SIZE,
  min_batch_size = BATCH_SIZE,
  max_batch_latency = MAX_LATENCY,

  -- Retry a failed batch after 30s, then 1m, 2m, ... up to every 10 minutes,
  -- and give up after a day (an Expiration record is logged then).
  queue_config = {
    retry_interval = '30s',
    max_retry_interval = '10m',
    max_age = '1d',
  },

  log_parameters = {
    headers = { 'Subject', 'Message-ID' },
    meta = { 'tenant', 'campaign' },
  },
}

-- One connection to the collector at a time. With the default limit (32
-- concurrent connections) a burst of records is shared out between several
-- connections, each sending its own smaller batch. idle_timeout must be at
-- least MAX_LATENCY: a connection waiting for a batch to fill gives up (and
-- sends what it holds) when it has been idle that long.
kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  if routing_domain == log_hooks.queue_name('collector') then
    return kumo.make_egress_path {
      connection_limit = 1,
      idle_timeout = '1m',
    }
  end
  return kumo.make_egress_path {}
end)

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
end)
