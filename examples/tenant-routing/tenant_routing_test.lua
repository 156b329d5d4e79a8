-- Tests for the per-tenant webhook policy:
--
--   node bin/kumo-lua.mjs test examples/tenant-routing
--
-- The policy relays ordinary mail over SMTP. Tests must not reach real mail
-- servers, so this file registers a get_queue_config handler of its own
-- *before* loading the policy: handlers run in registration order and the
-- first one that returns a config wins, so mail for example.net goes to a
-- stand-in "MX" written in Lua that accepts everything. The policy's own
-- handlers still configure the tenant hook queues.
local t = require 'kumo-lua.testing'
local kumo = require 'kumo'

local STUB_MX = 'test.stub_mx'

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain ~= 'example.net' then return end
  return kumo.make_queue_config { protocol = { custom_lua = { constructor = STUB_MX } } }
end)

-- What the stand-in MX accepted, so tests can look at the delivered mail.
local delivered_mail = {}

kumo.on(STUB_MX, function(domain, tenant, campaign)
  return {
    send = function(self, msg)
      delivered_mail[#delivered_mail + 1] = msg:get_data()
      return '250 2.0.0 accepted by the stub MX'
    end,
  }
end)

t.policy('init.lua')

local ACME = 'https://hooks.acme.example/kumo-events'
local GLOBEX = 'https://events.globex.example/ingest'

-- One message from `tenant` (nil: no X-Tenant header) to reader@example.net.
local function send_mail(tenant, subject)
  local headers = 'Subject: ' .. subject .. '\r\nFrom: sender@example.com\r\n'
  if tenant then headers = headers .. 'X-Tenant: ' .. tenant .. '\r\n' end
  local response = t.inject {
    envelope_sender = 'sender@example.com',
    recipients = { { email = 'reader@example.net' } },
    content = headers .. '\r\nHello from ' .. tostring(tenant) .. '\r\n',
  }
  t.expect(response.success_count).to_equal(1)
end

local function types_of(records)
  local out = {}
  for i, r in ipairs(records) do out[i] = r.type end
  return out
end

t.test('one delivered message gives exactly one Reception and one Delivery at the hook', function()
  local acme = t.http(ACME)
  send_mail('acme', 'Order confirmation')
  t.expect(t.run_until_idle('1h')).to_be(true)

  t.expect(types_of(acme:records())).to_equal({ 'Reception', 'Delivery' })
  t.expect(acme:count()).to_equal(2)

  local reception, delivery = acme:json(1), acme:json(2)
  t.expect(delivery.id).to_equal(reception.id)
  t.expect(reception.meta).to_equal({ tenant = 'acme' })
  t.expect(reception.headers).to_equal({ Subject = 'Order confirmation' })
  -- The mail itself went to the tenant's mail queue and was delivered.
  t.expect(delivery.queue).to_equal('acme@example.net')
  t.expect(delivery.response.content).to_equal('250 2.0.0 accepted by the stub MX')

  -- The hook's own deliveries were logged too, but never posted back to it.
  local hook_deliveries = 0
  for _, r in ipairs(t.records('Delivery')) do
    if r.queue == 'acme.tenant_hook' then
      hook_deliveries = hook_deliveries + 1
      t.expect(r.reception_protocol).to_equal('LogRecord')
    end
  end
  t.expect(hook_deliveries).to_equal(2)
end)

t.test("two tenants' events go to two different URLs", function()
  local acme, globex = t.http(ACME), t.http(GLOBEX)
  send_mail('acme', 'From Acme')
  send_mail('Globex', 'From Globex') -- the tenant name is lowercased
  t.expect(t.run_until_idle('1h')).to_be(true)

  t.expect(acme:count()).to_equal(2)
  t.expect(globex:count()).to_equal(2)
  for _, record in ipairs(acme:records()) do
    t.expect(record.meta.tenant).to_equal('acme')
    t.expect(record.headers.Subject).to_equal('From Acme')
  end
  for _, record in ipairs(globex:records()) do
    t.expect(record.meta.tenant).to_equal('globex')
    t.expect(record.headers.Subject).to_equal('From Globex')
  end

  -- Each tenant's own credentials.
  t.expect(acme:request(1).headers.authorization).to_equal('Bearer acme-token')
  t.expect(globex:request(1).headers.authorization).to_equal('Bearer globex-token')
end)

t.test('the X-Tenant header is removed before the mail is delivered', function()
  t.http(ACME)
  send_mail('acme', 'Private routing')
  t.run_until_idle('1h')

  t.expect(#delivered_mail).to_equal(1)
  t.expect(delivered_mail[1]).to_contain('Subject: Private routing')
  t.expect(delivered_mail[1]:find('X-Tenant', 1, true)).to_be_nil()
end)

t.test('mail without a known tenant produces no webhook calls', function()
  local acme, globex = t.http(ACME), t.http(GLOBEX)
  send_mail(nil, 'No tenant')
  send_mail('initech', 'Unknown tenant')
  t.expect(t.run_until_idle('1h')).to_be(true)

  -- Both messages were received and delivered...
  t.expect(#t.records('Reception')).to_equal(2)
  t.expect(#t.records('Delivery')).to_equal(2)
  -- ...but nobody was told.
  t.expect(acme:count()).to_equal(0)
  t.expect(globex:count()).to_equal(0)
end)

t.test("one tenant's endpoint being down does not hold up the other", function()
  local acme, globex = t.http(ACME), t.http(GLOBEX)
  acme:respond { status = 503, body = 'maintenance' }

  send_mail('acme', 'Acme mail')
  send_mail('globex', 'Globex mail')
  t.advance('10m')

  -- Globex got its events at once; Acme's are waiting in their own queue.
  t.expect(types_of(globex:records())).to_equal({ 'Reception', 'Delivery' })
  t.expect(globex:count()).to_equal(2) -- no failed attempts for Globex
  t.expect(acme:count() >= 4).to_be(true)
  local acme_failures = 0
  for _, r in ipairs(t.records('TransientFailure')) do
    t.expect(r.queue).to_equal('acme.tenant_hook')
    t.expect(r.response.content).to_equal('503 from acme: maintenance')
    acme_failures = acme_failures + 1
  end
  t.expect(acme_failures).to_equal(acme:count())

  -- Acme comes back and gets everything.
  acme:respond { status = 204 }
  t.expect(t.run_until_idle('1h')).to_be(true)
  local received = {}
  for i = acme_failures + 1, acme:count() do received[#received + 1] = acme:json(i).type end
  table.sort(received)
  t.expect(received).to_equal({ 'Delivery', 'Reception' })
end)

t.test('a 4xx from the endpoint bounces the record instead of retrying', function()
  local globex = t.http(GLOBEX)
  globex:respond { status = 401, body = 'bad token' }
  send_mail('globex', 'Unauthorized')
  t.expect(t.run_until_idle('1h')).to_be(true)

  t.expect(globex:count()).to_equal(2)
  local bounces = t.records('Bounce')
  t.expect(#bounces).to_equal(2)
  t.expect(bounces[1].queue).to_equal('globex.tenant_hook')
  t.expect(bounces[1].response.code).to_equal(550)
  t.expect(bounces[1].response.content).to_equal('401 from globex: bad token')
end)
