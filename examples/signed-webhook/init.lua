-- Signed webhook: each log record is POSTed to a receiver, signed the
-- Standard Webhooks way (https://www.standardwebhooks.com/) so the receiver
-- can tell the request came from us and was not altered or replayed.
--
-- Every request carries three headers:
--   webhook-id         a unique id for this delivery (stays the same on retries)
--   webhook-timestamp  when it was sent, in unix seconds
--   webhook-signature  "v1," followed by the base64 HMAC-SHA256 of
--                      "<webhook-id>.<webhook-timestamp>.<body>", keyed with
--                      the secret (the base64-decoded part after "whsec_")
--
-- Receivers built with a Standard Webhooks library verify these with the
-- same whsec_ secret. They should also refuse timestamps far from "now".
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local STATE = os.getenv('KUMO_LUA_STATE_DIR') or '/var/spool/kumo-lua'
local RECEIVER_URL = os.getenv('RECEIVER_URL') or 'https://events.example.com/kumo'

-- Keep the real secret out of the policy: set WEBHOOK_SECRET in the
-- environment, or give signing_secret a KeySource (a file path, or
-- { key_data = ... }, or a vault reference) instead of a string.
-- The fallback below is for the tests only; never deploy it.
local SIGNING_SECRET = os.getenv('WEBHOOK_SECRET') or 'whsec_YW4tZXhhbXBsZS1rZXktZG8tbm90LXVzZS1pdCEhISE='

log_hooks:new_json {
  name = 'signed',
  url = RECEIVER_URL,
  signing_secret = SIGNING_SECRET,
  log_parameters = {
    headers = { 'Subject' },
    -- Only what the receiver acts on; Reception and the rest are skipped.
    per_record = {
      Reception = { enable = false },
      Delayed = { enable = false },
    },
  },
}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = STATE .. '/data' }
  kumo.define_spool { name = 'meta', path = STATE .. '/meta' }
  kumo.configure_local_logs { log_dir = STATE .. '/logs' }
end)
