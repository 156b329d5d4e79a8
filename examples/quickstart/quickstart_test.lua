-- Tests for the quickstart policy. Run them with:
--
--   node bin/kumo-lua.mjs test examples/quickstart
--
-- Every t.test below gets a brand-new kumo-lua instance: the policy is loaded
-- again, the spool lives in a temporary directory, the clock is virtual (it
-- starts at 2026-01-01T00:00:00Z and only moves when the test waits), and the
-- webhook URL is answered by a mock instead of a real server. t.smtp('localhost')
-- starts a mock MX that the policy's MX (localhost:2526) resolves to.
local t = require 'kumo-lua.testing'
local kumo = require 'kumo'

t.policy('init.lua')

-- The URL the policy posts to when WEBHOOK_URL is not set.
local WEBHOOK = 'http://127.0.0.1:4242/events'

-- A message as the HTTP injection API (POST /api/inject/v1) takes it.
local function one_message(subject)
  return {
    envelope_sender = 'newsletter@example.com',
    recipients = { { email = 'reader@example.net' } },
    content = 'Subject: ' .. subject .. '\r\n'
      .. 'From: newsletter@example.com\r\n'
      .. 'X-Campaign: spring-sale\r\n'
      .. 'X-Not-Captured-Either: yes\r\n'
      .. 'Reply-To: nobody@example.com\r\n'
      .. '\r\n'
      .. 'Hello!\r\n',
  }
end

-- The `type` field of every record the webhook received, in arrival order.
local function types_of(records)
  local out = {}
  for i, r in ipairs(records) do out[i] = r.type end
  return out
end

t.test('an injected message reaches the webhook as Reception, then Delivery', function()
  local hook = t.http(WEBHOOK)
  local mx = t.smtp('localhost')

  local response = t.inject(one_message('Spring sale'))
  t.expect(response.success_count).to_equal(1)
  t.expect(response.fail_count).to_equal(0)

  -- Let the engine deliver the mail over SMTP and the hook queue drain.
  t.expect(t.run_until_idle('1h')).to_be(true)

  local records = hook:records()
  t.expect(types_of(records)).to_equal({ 'Reception', 'Delivery' })

  -- log_parameters.headers = { 'Subject', 'X-*' } captures exactly those.
  local reception = records[1]
  t.expect(reception.headers.Subject).to_equal('Spring sale')
  t.expect(reception.headers['X-Campaign']).to_equal('spring-sale')
  t.expect(reception.headers['X-Not-Captured-Either']).to_equal('yes')
  t.expect(reception.headers['Reply-To']).to_be_nil()
  t.expect(reception.reception_protocol).to_equal('HTTP')

  local delivery = records[2]
  t.expect(delivery.id).to_equal(reception.id)
  t.expect(delivery.delivery_protocol).to_equal('ESMTP')
  t.expect(delivery.peer_address.name).to_equal('localhost:2526')
  t.expect(delivery.headers.Subject).to_equal('Spring sale')

  -- The MX got the message as stored, from the envelope sender.
  local mail = mx:delivered()
  t.expect(#mail).to_equal(1)
  t.expect(mail[1].sender).to_equal('newsletter@example.com')
  t.expect(mail[1].recipients).to_equal({ 'reader@example.net' })
  t.expect(mail[1].data).to_contain('Subject: Spring sale')
end)

t.test('each record is one POST of KumoMTA JSON', function()
  local hook = t.http(WEBHOOK)
  t.smtp('localhost')
  t.inject(one_message('Fields'))
  t.run_until_idle('1h')

  t.expect(hook:count()).to_equal(2)
  local request = hook:request(1)
  t.expect(request.method).to_equal('POST')
  t.expect(request.headers['content-type']).to_equal('application/json')

  -- The body is the record exactly as KumoMTA writes it: compact JSON in
  -- KumoMTA's field order, with null fields present, and a final newline.
  t.expect(request.body).to_match('^{"type":"Reception","id":"%x+","sender":"newsletter@example.com",')
  t.expect(request.body).to_contain('"response":{"code":250,"enhanced_code":null,"content":"","command":null}')
  t.expect(request.body).to_match('\n$')

  -- Parsed, nulls disappear (as they do for kumo.json_parse); the rest is there.
  local record = request.json
  t.expect(record.id).to_match('^%x+$')
  t.expect(#record.id).to_equal(32)
  t.expect(record.sender).to_equal('newsletter@example.com')
  t.expect(record.recipient).to_equal('reader@example.net')
  t.expect(record.queue).to_equal('example.net')
  t.expect(record.num_attempts).to_equal(0)
  t.expect(record.bounce_classification).to_equal('Uncategorized')
  -- Times are virtual: the test clock starts at 2026-01-01T00:00:00Z.
  t.expect(record.event_time).to_match('^2026%-01%-01T%d%d:%d%d:%d%dZ$')
  t.expect(record.timestamp >= 1767225600 and record.timestamp <= request.at).to_be(true)
  t.expect(record.peer_address).to_equal({ name = '', addr = '127.0.0.1' })
  t.expect(type(record.nodeid)).to_equal('string')
end)

t.test('the webhook being down is retried and nothing is lost', function()
  local hook = t.http(WEBHOOK)
  t.smtp('localhost')
  hook:respond { status = 503, body = 'down for maintenance' }

  t.inject(one_message('While the collector is down'))

  -- Half an hour of virtual time passes in an instant. log_hooks retries the
  -- hook queue after 1m, 2m, 4m, 8m, 16m...
  t.advance('30m')
  local attempts_while_down = hook:count()
  t.expect(attempts_while_down >= 8).to_be(true) -- two records, >= 4 tries each

  -- Each failed POST is a TransientFailure of the hook message, with the
  -- collector's answer in the response.
  local failures = t.records('TransientFailure')
  t.expect(#failures >= 8).to_be(true)
  t.expect(failures[1].queue).to_equal('webhook.log_hook')
  t.expect(failures[1].response.code).to_equal(451)
  t.expect(failures[1].response.content).to_contain('503')
  t.expect(failures[1].response.content).to_contain('down for maintenance')
  t.expect(t.records('Bounce')).to_equal({})

  -- The collector comes back: both records arrive, each exactly once.
  hook:respond { status = 200, body = 'ok' }
  t.expect(t.run_until_idle('2h')).to_be(true)
  local accepted = {}
  for i = attempts_while_down + 1, hook:count() do
    accepted[#accepted + 1] = hook:json(i).type
  end
  table.sort(accepted)
  t.expect(accepted).to_equal({ 'Delivery', 'Reception' })
end)

t.test('a refused connection is retried like a 5xx', function()
  local hook = t.http(WEBHOOK)
  t.smtp('localhost')
  -- The first two POSTs fail at the network level, later ones succeed.
  hook:respond_once({ error = 'connection refused' }, { error = 'connection refused' })

  t.inject(one_message('Flaky network'))
  t.expect(t.run_until_idle('1h')).to_be(true)

  local failures = t.records('TransientFailure')
  t.expect(#failures).to_equal(2)
  t.expect(failures[1].response.content).to_contain('connection refused')
  -- Whatever failed first was posted again: four POSTs, both records received.
  t.expect(hook:count()).to_equal(4)
  local received = types_of(hook:records())
  t.expect(received).to_contain('Reception')
  t.expect(received).to_contain('Delivery')
end)

t.test('bounces reach the webhook too', function()
  local hook = t.http(WEBHOOK)
  -- A record about a made-up message, as if a remote MX had refused it.
  t.log_record {
    type = 'Bounce',
    recipient = 'gone@example.org',
    code = 550,
    content = '5.1.1 no such user',
    body = 'Subject: Your receipt\r\nX-Order: 1234\r\n\r\nThanks!\r\n',
  }
  t.run_until_idle('1h')

  local bounce = hook:json(1)
  t.expect(bounce.type).to_equal('Bounce')
  t.expect(bounce.recipient).to_equal('gone@example.org')
  t.expect(bounce.response.code).to_equal(550)
  t.expect(bounce.headers).to_equal({ Subject = 'Your receipt', ['X-Order'] = '1234' })
end)
