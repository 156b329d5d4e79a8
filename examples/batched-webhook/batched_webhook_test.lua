-- Tests for the batched webhook policy:
--
--   node bin/kumo-lua.mjs test examples/batched-webhook
--
-- t.log_record makes up a log record (as if a message had been delivered or
-- had bounced) and feeds it to the log hooks, so these tests need no mail.
local t = require 'kumo-lua.testing'

t.policy('init.lua')

local COLLECTOR = 'https://collector.example.com/v1/mail-events'

-- Logs `n` Delivery records for user1@..userN@example.com.
local function deliveries(n, first)
  first = first or 1
  for i = first, first + n - 1 do
    t.log_record { type = 'Delivery', recipient = 'user' .. i .. '@example.com' }
  end
end

-- The recipients of the records in one request body (a JSON array).
local function recipients_of(batch)
  local out = {}
  for i, record in ipairs(batch) do out[i] = record.recipient end
  table.sort(out)
  return out
end

t.test('120 records arrive in 3 requests: 50, 50, and the last 20 after 10s', function()
  local collector = t.http(COLLECTOR)
  deliveries(120)

  -- Two full batches go out at once...
  t.advance(0)
  t.expect(collector:count()).to_equal(2)
  t.expect(#collector:json(1)).to_equal(50)
  t.expect(#collector:json(2)).to_equal(50)

  -- ...and the remaining 20 wait for max_batch_latency.
  t.advance('9s')
  t.expect(collector:count()).to_equal(2)
  t.advance('1s')
  t.expect(collector:count()).to_equal(3)
  t.expect(#collector:json(3)).to_equal(20)
  t.expect(collector:request(3).at - collector:request(1).at).to_equal(10)

  -- Every record arrived, exactly once.
  local seen = {}
  for _, record in ipairs(collector:records()) do
    t.expect(record.type).to_equal('Delivery')
    t.expect(seen[record.recipient]).to_be_nil()
    seen[record.recipient] = true
  end
  for i = 1, 120 do
    t.expect(seen['user' .. i .. '@example.com']).to_be(true)
  end
end)

t.test('each request is a JSON array with the configured headers', function()
  local collector = t.http(COLLECTOR)
  deliveries(3)
  t.advance('10s')

  local request = collector:request(1)
  t.expect(request.method).to_equal('POST')
  t.expect(request.headers['content-type']).to_equal('application/json')
  t.expect(request.headers['authorization']).to_equal('Bearer change-me')
  t.expect(request.headers['x-source']).to_equal('kumo-lua')
  -- The array holds each record without its trailing newline, its idempotency
  -- key (the same on every retry of that record) first.
  t.expect(request.body).to_match('^%[{"webhook_id":"%x+","type":"Delivery",.*}%]$')
  t.expect(recipients_of(request.json)).to_equal({
    'user1@example.com', 'user2@example.com', 'user3@example.com',
  })
end)

t.test('a partial batch goes out once max_batch_latency has passed', function()
  local collector = t.http(COLLECTOR)
  deliveries(7)

  t.advance('9.9s')
  t.expect(collector:count()).to_equal(0)

  t.advance('100ms')
  t.expect(collector:count()).to_equal(1)
  t.expect(#collector:json(1)).to_equal(7)

  -- The hook messages were delivered: one Delivery record each, carrying the
  -- collector's answer.
  local hook_deliveries = {}
  for _, record in ipairs(t.records('Delivery')) do
    if record.queue == 'collector.log_hook' then hook_deliveries[#hook_deliveries + 1] = record end
  end
  t.expect(#hook_deliveries).to_equal(7)
  t.expect(hook_deliveries[1].response.content).to_equal('200 OK: ok')
end)

t.test('a 5xx retries the whole batch', function()
  local collector = t.http(COLLECTOR)
  collector:respond_once { status = 502, body = 'bad gateway' }
  deliveries(50)

  t.advance(0)
  t.expect(collector:count()).to_equal(1)
  local first_try = recipients_of(collector:json(1))
  t.expect(#first_try).to_equal(50)

  -- Every message of the batch gets a TransientFailure with the answer.
  local failures = t.records('TransientFailure')
  t.expect(#failures).to_equal(50)
  t.expect(failures[1].response.code).to_equal(451)
  t.expect(failures[1].response.content).to_equal('502 Bad Gateway: bad gateway')

  -- retry_interval is 30s: the same 50 records come back as one batch.
  t.expect(t.run_until_idle('5m')).to_be(true)
  t.expect(collector:count()).to_equal(2)
  t.expect(recipients_of(collector:json(2))).to_equal(first_try)
  t.expect(collector:request(2).at - collector:request(1).at >= 30).to_be(true)
  t.expect(t.records('Bounce')).to_equal({})
end)

t.test('a 4xx other than 408/429 bounces the batch instead of retrying', function()
  local collector = t.http(COLLECTOR)
  collector:respond { status = 400, body = 'malformed' }
  deliveries(5)

  t.expect(t.run_until_idle('1h')).to_be(true)
  t.expect(collector:count()).to_equal(1)
  local bounces = t.records('Bounce')
  t.expect(#bounces).to_equal(5)
  t.expect(bounces[1].queue).to_equal('collector.log_hook')
  t.expect(bounces[1].response.content).to_equal('400 Bad Request: malformed')
end)
