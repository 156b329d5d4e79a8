-- Tests for the signed webhook policy:
--
--   node bin/kumo-lua.mjs test examples/signed-webhook
--
-- The tests check the signature the way a receiver would: recompute the
-- HMAC-SHA256 from the secret and the request, and compare.
local t = require 'kumo-lua.testing'
local kumo = require 'kumo'

t.policy('init.lua')

local RECEIVER = 'https://events.example.com/kumo'
local SECRET = 'whsec_YW4tZXhhbXBsZS1rZXktZG8tbm90LXVzZS1pdCEhISE='

-- What a receiver does with a request: the expected webhook-signature value
-- for these headers and this body, signed with a whsec_ secret.
local function expected_signature(secret, id, timestamp, body)
  local key = kumo.encode.base64_decode((secret:gsub('^whsec_', '')))
  -- hmac_sha256 takes a KeySource, so raw key bytes go in { key_data = ... }.
  local mac = kumo.digest.hmac_sha256({ key_data = key }, id .. '.' .. timestamp .. '.' .. body)
  return 'v1,' .. kumo.encode.base64_encode(mac.bytes)
end

-- A receiver's check: the signature must match (a header may list several
-- space-separated signatures, e.g. during a key rotation) and the timestamp
-- must be within 5 minutes of `now`.
local function verify(secret, headers, body, now)
  local id, timestamp = headers['webhook-id'], headers['webhook-timestamp']
  if not id or not timestamp then return false, 'missing webhook-id or webhook-timestamp' end
  if math.abs(now - tonumber(timestamp)) > 300 then return false, 'timestamp too old or in the future' end
  local wanted = expected_signature(secret, id, timestamp, body)
  for candidate in (headers['webhook-signature'] or ''):gmatch('%S+') do
    if candidate == wanted then return true end
  end
  return false, 'no matching signature'
end

t.test('the receiver-side check agrees with the Standard Webhooks test vector', function()
  -- The example from the Standard Webhooks specification's test suite.
  local headers = {
    ['webhook-id'] = 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    ['webhook-timestamp'] = '1614265330',
    ['webhook-signature'] = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  }
  local secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  t.expect(verify(secret, headers, '{"test": 2432232314}', 1614265330)).to_be(true)
  t.expect(verify(secret, headers, '{"test": 2432232315}', 1614265330)).to_be(false)
end)

t.test('every request is signed with the whsec_ secret', function()
  local receiver = t.http(RECEIVER)
  t.log_record { type = 'Bounce', recipient = 'gone@example.com', code = 550, content = '5.1.1 unknown user' }
  t.run_until_idle()

  t.expect(receiver:count()).to_equal(1)
  local request = receiver:request(1)
  local headers = request.headers

  -- webhook-id: the id of the hook's message, 32 hex digits.
  t.expect(headers['webhook-id']).to_match('^%x+$')
  t.expect(#headers['webhook-id']).to_equal(32)
  -- webhook-timestamp: unix seconds at the moment of sending (virtual time here).
  t.expect(headers['webhook-timestamp']).to_equal(tostring(math.floor(request.at)))
  -- webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
  t.expect(headers['webhook-signature']).to_equal(
    expected_signature(SECRET, headers['webhook-id'], headers['webhook-timestamp'], request.body))
  t.expect(verify(SECRET, headers, request.body, t.now())).to_be(true)

  -- The body is the plain record; signing does not change it.
  t.expect(request.json.type).to_equal('Bounce')
  t.expect(request.json.recipient).to_equal('gone@example.com')
end)

t.test('a changed body, another secret or an old timestamp fail the check', function()
  local receiver = t.http(RECEIVER)
  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.run_until_idle()
  local request = receiver:request(1)

  local tampered = request.body:gsub('"Delivery"', '"Bounce"')
  t.expect(verify(SECRET, request.headers, tampered, t.now())).to_be(false)

  local other_secret = 'whsec_' .. kumo.encode.base64_encode('a different key of 32 bytes!!!!!')
  t.expect(verify(other_secret, request.headers, request.body, t.now())).to_be(false)

  -- A replay an hour later is refused by the timestamp check.
  t.advance('1h')
  t.expect(verify(SECRET, request.headers, request.body, t.now())).to_be(false)
end)

t.test('a retry keeps its webhook-id and is signed again with a new timestamp', function()
  local receiver = t.http(RECEIVER)
  receiver:respond_once { status = 503, body = 'try later' }
  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.expect(t.run_until_idle('1h')).to_be(true)

  t.expect(receiver:count()).to_equal(2)
  local first, second = receiver:request(1), receiver:request(2)
  -- Same delivery, so the receiver can de-duplicate on webhook-id...
  t.expect(second.headers['webhook-id']).to_equal(first.headers['webhook-id'])
  t.expect(second.body).to_equal(first.body)
  -- ...but it was sent later and signed anew. log_hooks retries after 1 minute,
  -- give or take a second of jitter (it spreads retries of many messages out).
  local waited = tonumber(second.headers['webhook-timestamp']) - tonumber(first.headers['webhook-timestamp'])
  t.expect(waited >= 59 and waited <= 61).to_be(true)
  t.expect(second.headers['webhook-signature'] ~= first.headers['webhook-signature']).to_be(true)
  t.expect(verify(SECRET, second.headers, second.body, second.at)).to_be(true)
end)

t.test('Reception records are not sent (per_record disables them)', function()
  local receiver = t.http(RECEIVER)
  t.log_record { type = 'Reception', recipient = 'someone@example.com' }
  t.log_record { type = 'TransientFailure', recipient = 'someone@example.com', code = 451, content = 'greylisted' }
  t.run_until_idle()
  local types = {}
  for i, record in ipairs(receiver:records()) do types[i] = record.type end
  t.expect(types).to_equal({ 'TransientFailure' })
end)
