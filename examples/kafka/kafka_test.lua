-- Tests for the Kafka log hook policy:
--
--   node bin/kumo-lua.mjs test examples/kafka
--
-- kumo.kafka.build_producer in a test publishes to a recording broker,
-- t.kafka(), instead of a real cluster; the producer code is the same.
local t = require 'kumo-lua.testing'

t.policy('init.lua')

local TOPIC = 'mail-events'

t.test('a record is published to the topic, keyed by the message id', function()
  t.log_record {
    type = 'Bounce',
    recipient = 'gone@example.com',
    code = 550,
    content = '5.1.1 unknown user',
    meta = { tenant = 'acme', campaign = 'welcome' },
  }
  t.run_until_idle()

  local messages = t.kafka():messages(TOPIC)
  t.expect(#messages).to_equal(1)
  local published = messages[1]

  -- The value is KumoMTA's JSON record, newline-terminated.
  local record = published.json
  t.expect(record.type).to_equal('Bounce')
  t.expect(record.recipient).to_equal('gone@example.com')
  t.expect(record.response.code).to_equal(550)
  t.expect(record.meta).to_equal({ tenant = 'acme', campaign = 'welcome' })
  t.expect(published.payload).to_match('^{"type":"Bounce",.*}\n$')

  -- The key is the id of the message the record is about.
  t.expect(published.key).to_equal(record.id)
  t.expect(published.headers).to_equal({ record_type = 'Bounce' })
end)

t.test('records go out in the order they were logged', function()
  t.log_record { type = 'Reception', recipient = 'one@example.com' }
  t.log_record { type = 'Delivery', recipient = 'two@example.com' }
  t.log_record { type = 'TransientFailure', recipient = 'three@example.com', code = 451, content = 'try later' }
  t.run_until_idle()

  local got = {}
  for i, m in ipairs(t.kafka():messages(TOPIC)) do
    got[i] = { m.offset, m.json.type, m.json.recipient }
  end
  t.expect(got).to_equal({
    { 0, 'Reception', 'one@example.com' },
    { 1, 'Delivery', 'two@example.com' },
    { 2, 'TransientFailure', 'three@example.com' },
  })
end)

t.test('the hook message is delivered with the partition and offset as its response', function()
  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.run_until_idle()

  local hook_deliveries = {}
  for _, r in ipairs(t.records('Delivery')) do
    if r.queue == 'kafka.log_hook' then hook_deliveries[#hook_deliveries + 1] = r end
  end
  t.expect(#hook_deliveries).to_equal(1)
  t.expect(hook_deliveries[1].response.content).to_equal('published to mail-events partition 0 offset 0')
  t.expect(hook_deliveries[1].delivery_protocol).to_equal('Lua')
end)

t.test('a failed publish is retried and the record lands exactly once', function()
  local kafka = t.kafka()
  -- The next send fails like a broker error would.
  kafka:fail_next('Broker: Leader not available')

  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.advance(0)
  t.expect(kafka:count()).to_equal(0)

  local failures = t.records('TransientFailure')
  t.expect(#failures).to_equal(1)
  t.expect(failures[1].queue).to_equal('kafka.log_hook')
  t.expect(failures[1].response.code).to_equal(451)
  t.expect(failures[1].response.content).to_contain('Leader not available')

  -- retry_interval is 30s: nothing happens before, the record lands after.
  t.advance('29s')
  t.expect(kafka:count()).to_equal(0)
  t.advance('1s')
  t.expect(kafka:count()).to_equal(1)
  t.expect(kafka:messages(TOPIC)[1].json.recipient).to_equal('someone@example.com')

  t.expect(t.run_until_idle()).to_be(true)
  t.expect(kafka:count()).to_equal(1)
end)

t.test('a longer outage backs off and loses nothing', function()
  local kafka = t.kafka()
  for _ = 1, 4 do kafka:fail_next('Local: Message timed out') end

  t.log_record { type = 'Delivery', recipient = 'someone@example.com' }
  t.expect(t.run_until_idle('1h')).to_be(true)

  -- Four failures (at 0s, 30s, 1m30s, 3m30s), then success at 7m30s: the
  -- hook message's Delivery record tells when the publish went through.
  local failures = t.records('TransientFailure')
  t.expect(#failures).to_equal(4)
  t.expect(kafka:count()).to_equal(1)
  local published_at
  for _, r in ipairs(t.records('Delivery')) do
    if r.queue == 'kafka.log_hook' then published_at = r.timestamp end
  end
  t.expect(published_at - failures[1].timestamp).to_equal(7 * 60 + 30)
end)
