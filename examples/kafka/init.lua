-- Kafka log hook: every log record is published to a Kafka topic, keyed by
-- the id of the message it describes, so all events of one message land on
-- the same partition in the order they happened.
--
-- Consumers read KumoMTA's JSON record from the message value; the record
-- type is also in a Kafka header so consumers can skip what they ignore
-- without parsing the JSON.
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'
local BROKERS = os.getenv('KAFKA_BROKERS') or 'kafka-1.internal:9092,kafka-2.internal:9092'
local TOPIC = os.getenv('KAFKA_TOPIC') or 'mail-events'

log_hooks:new {
  name = 'kafka',
  log_parameters = {
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'Message-ID' },
  },
  -- A failed publish is retried after 30s, 1m, 2m ... then every 5 minutes.
  queue_config = {
    retry_interval = '30s',
    max_retry_interval = '5m',
  },

  -- Called once per connection of the hook queue. The object it returns
  -- publishes the records handed to it, one at a time.
  constructor = function(domain, tenant, campaign)
    -- Keys are librdkafka property names; values are strings.
    local producer = kumo.kafka.build_producer {
      ['bootstrap.servers'] = BROKERS,
      ['client.id'] = 'kumo-lua-log-hook',
      ['message.timeout.ms'] = '20000',
    }

    local connection = {}

    function connection:send(msg)
      local record = msg:get_meta('log_record')
      local ok, partition, offset = pcall(producer.send, producer, {
        topic = TOPIC,
        key = record.id,
        payload = msg:get_data(),
        headers = { record_type = record.type },
        timeout = '30s',
      })
      if not ok then
        -- A 4xx rejection: TransientFailure, the record stays queued and is
        -- retried on the schedule above, and this producer is kept.
        kumo.reject(451, 'kafka publish failed: ' .. tostring(partition))
      end
      -- The returned text is the content of the hook message's Delivery record.
      return string.format('published to %s partition %d offset %d', TOPIC, partition, offset)
    end

    function connection:close()
      producer:close()
    end

    return connection
  end,
}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
end)

-- Mail itself is relayed by SMTP as usual (default queue config); only the
-- hook's queue is configured by log_hooks.
