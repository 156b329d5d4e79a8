-- Per-tenant event webhooks, wired with KumoMTA's raw events (no helper).
--
-- Each sending tenant gets its own webhook URL and credentials. A tenant is
-- chosen per message by the X-Tenant header (removed before delivery), and
-- every log record about that message is posted to that tenant's webhook.
--
-- Each tenant's records wait in their own queue, "<tenant>.tenant_hook", so
-- one tenant's broken endpoint only delays that tenant's events: the queues
-- are retried independently and do not share connections.
--
--   record logged ──> should_enqueue_log_record ──> queue "<tenant>.tenant_hook"
--                     (drop records of unknown                  │
--                      tenants and of the hook itself)          ▼
--                                      get_queue_config: custom_lua, constructor 'make.tenant_hook'
--                                                               │
--                                      make.tenant_hook(domain) ─> POST to that tenant's URL
local kumo = require 'kumo'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'

local HOOK_NAME = 'tenant_events'
local QUEUE_SUFFIX = '.tenant_hook'
local CONSTRUCTOR = 'make.tenant_hook'

-- Where each tenant wants its events. In production, keep this in a file
-- (kumo.json_load) or a secrets store rather than in the policy.
local TENANTS = {
  acme = { url = 'https://hooks.acme.example/kumo-events', token = 'acme-token' },
  globex = { url = 'https://events.globex.example/ingest', token = 'globex-token' },
}

local function hook_queue(tenant)
  return tenant .. QUEUE_SUFFIX
end

-- The tenant a hook queue belongs to, or nil for any other queue.
local function tenant_of_queue(domain)
  if domain:sub(-#QUEUE_SUFFIX) ~= QUEUE_SUFFIX then return nil end
  return domain:sub(1, -#QUEUE_SUFFIX - 1)
end

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
  kumo.start_http_listener { listen = '0.0.0.0:8000', trusted_hosts = { '127.0.0.1', '10.0.0.0/8' } }
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', relay_hosts = { '127.0.0.1', '10.0.0.0/8' } }

  -- Every record gets the tenant meta and the Subject header captured.
  kumo.configure_log_hook {
    name = HOOK_NAME,
    meta = { 'tenant' },
    headers = { 'Subject' },
  }
end)

-- Tag each incoming message with its tenant. Setting 'tenant' also puts the
-- message in a per-tenant mail queue ("acme@example.com").
local function assign_tenant(msg)
  local tenant = msg:get_first_named_header_value('X-Tenant')
  if tenant then
    msg:set_meta('tenant', tenant:lower())
    msg:remove_all_named_headers('X-Tenant')
  end
end

kumo.on('http_message_generated', function(msg)
  assign_tenant(msg)
end)

kumo.on('smtp_server_message_received', function(msg)
  assign_tenant(msg)
end)

-- Called for every record of every configured hook: pick the queue, or drop.
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK_NAME then return end -- another hook: let its handler decide

  local record = msg:get_meta('log_record')
  -- Never report on our own webhook deliveries (that would loop forever).
  if record.reception_protocol == 'LogRecord' then return false end
  if record.queue and tenant_of_queue(record.queue) then return false end

  local tenant = msg:get_meta('tenant')
  if not tenant or not TENANTS[tenant] then return false end -- nobody to tell

  msg:set_meta('queue', hook_queue(tenant))
  return true
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if not tenant_of_queue(domain) then return end -- ordinary mail: default SMTP delivery
  return kumo.make_queue_config {
    retry_interval = '1m',
    max_retry_interval = '20m',
    max_age = '3d',
    protocol = { custom_lua = { constructor = CONSTRUCTOR } },
  }
end)

-- Builds the connection for one tenant's hook queue. `domain` is the queue
-- name, e.g. "acme.tenant_hook".
kumo.on(CONSTRUCTOR, function(domain, tenant, campaign)
  local name = tenant_of_queue(domain)
  local target = name and TENANTS[name]
  if not target then
    -- Counts as a failed connection: the records stay queued and are retried.
    error('no webhook configured for queue ' .. domain)
  end

  local client = kumo.http.build_client { timeout = '30s' }
  local connection = {}

  function connection:send(msg)
    local response = client:post(target.url)
      :header('Content-Type', 'application/json')
      :bearer_auth(target.token)
      :body(msg:get_data())
      :send()
    local code = response:status_code()
    local summary = string.format('%d from %s: %s', code, name, response:text())
    if response:status_is_success() then return summary end
    if code == 408 or code == 429 or code >= 500 then
      kumo.reject(451, summary) -- the tenant's endpoint is struggling: retry later
    end
    kumo.reject(550, summary) -- a request the endpoint will never accept
  end

  function connection:close()
    client:close()
  end

  return connection
end)
