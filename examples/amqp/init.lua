-- AMQP (RabbitMQ) log hook: every log record is published to a topic
-- exchange with the routing key "kumo.<record type>", e.g. kumo.bounce or
-- kumo.delivery, so each consumer binds only the events it wants:
--
--   bounces-processor  binds  kumo.bounce, kumo.expiration
--   analytics          binds  kumo.#
--
-- Messages are persistent (delivery_mode 2), carry the JSON record as their
-- body and the id of the mail message as message_id, which consumers can use
-- to drop duplicates after a retry.
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'
local EXCHANGE = os.getenv('AMQP_EXCHANGE') or 'mail-events'

-- basic_publish keeps a pool of connections per distinct connection table,
-- so build the table once and pass the same one to every publish.
local RABBITMQ = {
  host = os.getenv('AMQP_HOST') or 'rabbitmq.internal',
  port = 5672,
  username = os.getenv('AMQP_USER') or 'kumo',
  password = os.getenv('AMQP_PASSWORD') or 'change-me',
  vhost = '/mail',
  publish_timeout = '20s',
}

log_hooks:new {
  name = 'amqp',
  log_parameters = {
    meta = { 'tenant' },
    headers = { 'Subject' },
  },
  queue_config = {
    retry_interval = '30s',
    max_retry_interval = '5m',
  },

  constructor = function(domain, tenant, campaign)
    local connection = {}

    function connection:send(msg)
      local record = msg:get_meta('log_record')
      local ok, err = pcall(kumo.amqp.basic_publish, {
        connection = RABBITMQ,
        exchange = EXCHANGE,
        routing_key = 'kumo.' .. record.type:lower(),
        payload = msg:get_data(),
        content_type = 'application/json',
        delivery_mode = 2,
        message_id = record.id,
        app_id = 'kumo-lua',
      })
      if not ok then
        -- Retried later on the schedule above (a TransientFailure record
        -- for the hook message shows why).
        kumo.reject(451, 'AMQP publish failed: ' .. tostring(err))
      end
      return 'published to ' .. EXCHANGE
    end

    -- Nothing to close: the pool is shared and managed by kumo.amqp.
    return connection
  end,
}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
end)
