-- Tests for the AMQP log hook policy:
--
--   node bin/kumo-lua.mjs test examples/amqp
--
-- kumo.amqp connections in a test go to a recording broker, t.amqp(); the
-- publishing code (pooling, parameter checks) is the production code.
local t = require 'kumo-lua.testing'

t.policy('init.lua')

-- Routing key and record type of everything published so far.
local function published()
  local out = {}
  for i, m in ipairs(t.amqp():messages()) do
    out[i] = { m.routing_key, m.json.type, m.json.recipient }
  end
  return out
end

t.test('each record is published to the exchange with a per-type routing key', function()
  t.log_record { type = 'Delivery', recipient = 'one@example.com' }
  t.log_record { type = 'Bounce', recipient = 'two@example.com', code = 550, content = '5.1.1 unknown user' }
  t.log_record { type = 'Expiration', recipient = 'three@example.com' }
  t.run_until_idle()

  t.expect(published()).to_equal({
    { 'kumo.delivery', 'Delivery', 'one@example.com' },
    { 'kumo.bounce', 'Bounce', 'two@example.com' },
    { 'kumo.expiration', 'Expiration', 'three@example.com' },
  })
  for _, m in ipairs(t.amqp():messages()) do
    t.expect(m.exchange).to_equal('mail-events')
  end
end)

t.test('messages are persistent JSON with the mail message id', function()
  t.log_record { type = 'Bounce', recipient = 'gone@example.com', meta = { tenant = 'acme' } }
  t.run_until_idle()

  local m = t.amqp():messages()[1]
  t.expect(m.payload).to_match('^{"type":"Bounce",.*}\n$')
  t.expect(m.json.meta).to_equal({ tenant = 'acme' })
  t.expect(m.json.headers.Subject).to_equal('test message')
  -- Properties as the broker client received them (amqplib's names).
  t.expect(m.properties.contentType).to_equal('application/json')
  t.expect(m.properties.deliveryMode).to_equal(2)
  t.expect(m.properties.appId).to_equal('kumo-lua')
  t.expect(m.properties.messageId).to_equal(m.json.id)
end)

t.test('a failed publish is retried after 30s and lands once', function()
  local broker = t.amqp()
  broker:fail_next('channel closed by broker')

  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.advance(0)
  t.expect(broker:count()).to_equal(0)

  local failures = t.records('TransientFailure')
  t.expect(#failures).to_equal(1)
  t.expect(failures[1].queue).to_equal('amqp.log_hook')
  t.expect(failures[1].response.code).to_equal(451)
  t.expect(failures[1].response.content).to_contain('channel closed by broker')

  t.advance('30s')
  t.expect(broker:count()).to_equal(1)
  t.expect(t.run_until_idle()).to_be(true)
  t.expect(published()).to_equal({ { 'kumo.delivery', 'Delivery', 'someone@example.com' } })
end)

t.test('records keep flowing for other messages while one is being retried', function()
  local broker = t.amqp()
  t.log_record { type = 'Delivery', recipient = 'first@example.com' }
  t.advance(0)
  broker:fail_next('connection reset')
  t.log_record { type = 'Delivery', recipient = 'second@example.com' }
  t.log_record { type = 'Delivery', recipient = 'third@example.com' }
  t.expect(t.run_until_idle('10m')).to_be(true)

  -- All three arrive; the one that failed comes last.
  t.expect(broker:count()).to_equal(3)
  local recipients = {}
  for i, m in ipairs(broker:messages()) do recipients[i] = m.json.recipient end
  t.expect(recipients[1]).to_equal('first@example.com')
  t.expect(recipients).to_contain('second@example.com')
  t.expect(recipients).to_contain('third@example.com')
  t.expect(#t.records('TransientFailure')).to_equal(1)
end)
