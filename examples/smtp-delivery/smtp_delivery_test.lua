-- Tests for the SMTP delivery policy:
--
--   node bin/kumo-lua.mjs test examples/smtp-delivery
--
-- t.smtp('name') starts a mock MX on 127.0.0.1 and makes `name` resolve to
-- it (MX and address lookups), so the policy keeps its real host names and
-- its default prohibited_hosts. Mail really travels over SMTP; time is
-- virtual, so an hour of retries takes milliseconds.
local t = require 'kumo-lua.testing'

t.policy('init.lua')

local function message(to, subject)
  return {
    envelope_sender = 'shop@example.com',
    recipients = { { email = to } },
    content = 'Subject: ' .. (subject or 'Your order') .. '\r\nFrom: shop@example.com\r\n\r\nThanks!\r\n.dot line stays\r\n',
  }
end

t.test('mail reaches the smart host over SMTP, byte for byte', function()
  -- starttls = true: offer STARTTLS with a self-signed certificate (the
  -- policy's OpportunisticInsecure accepts it).
  local mx = t.smtp('smarthost.example.net', { starttls = true })
  t.inject(message('ann@customer.example'))
  t.expect(t.run_until_idle()):to_be(true)

  local delivered = mx:delivered()
  t.expect(#delivered):to_equal(1)
  t.expect(delivered[1].sender):to_equal('shop@example.com')
  t.expect(delivered[1].recipients):to_equal { 'ann@customer.example' }
  t.expect(delivered[1].data):to_match('%.dot line stays')
  t.expect(delivered[1].tls):to_be(true)

  local d = t.records('Delivery')[1]
  t.expect(d.delivery_protocol):to_equal('ESMTP')
  t.expect(d.peer_address.name):to_equal('smarthost.example.net')
  t.expect(d.site):to_equal('unspecified->mx_list:smarthost.example.net@smtp_client')
  t.expect(d.response.code):to_equal(250)
  t.expect(d.tls_protocol_version):to_equal('TLSv1.3')
end)

t.test('a deferral is retried over SMTP until the MX accepts', function()
  local mx = t.smtp('smarthost.example.net')
  mx:defer { match = 'bob@', code = 451, text = '4.7.1 greylisted, come back later' }
  t.inject(message('bob@customer.example'))
  t.advance('1s')
  local tf = t.records('TransientFailure')
  t.expect(#tf):to_equal(1)
  t.expect(tf[1].response.code):to_equal(451)
  t.expect(tf[1].response.command):to_equal('RCPT TO:<bob@customer.example>\r\n')

  -- The greylisting ends; the next retry (5 minutes, jittered) delivers.
  mx:accept()
  t.expect(t.run_until_idle('1h')):to_be(true)
  t.expect(#t.records('Delivery')):to_equal(1)
  t.expect(t.records('Delivery')[1].num_attempts):to_equal(1)
  t.expect(#mx:delivered()):to_equal(1)
end)

t.test('a full mailbox is rewritten to a bounce', function()
  local mx = t.smtp('smarthost.example.net')
  mx:defer { match = 'full@', code = 452, text = '4.2.2 mailbox full' }
  t.inject(message('full@customer.example'))
  t.run_until_idle()
  local b = t.records('Bounce')
  t.expect(#b):to_equal(1)
  t.expect(b[1].response.code):to_equal(550)
  t.expect(b[1].response.content):to_equal('mailbox full (kumomta: status was rewritten from 452 -> 550)')
  t.expect(#t.records('TransientFailure')):to_equal(0)
end)

t.test('a rejection at the end of DATA bounces', function()
  local mx = t.smtp('smarthost.example.net')
  mx:reject { at = 'data', code = 554, text = '5.7.1 spam detected' }
  t.inject(message('carl@customer.example', 'WIN BIG'))
  t.run_until_idle()
  local b = t.records('Bounce')[1]
  t.expect(b.response.code):to_equal(554)
  t.expect(b.response.command):to_equal('.\r\n')
  t.expect(#mx:delivered()):to_equal(0)
end)

t.test('partner.example is delivered straight to its MX', function()
  local mx = t.smtp('partner.example')
  t.inject(message('dana@partner.example'))
  t.run_until_idle()
  local d = t.records('Delivery')[1]
  t.expect(d.site):to_equal('unspecified->partner.example@smtp_client')
  t.expect(d.peer_address.name):to_equal('partner.example.')
  t.expect(#mx:delivered()):to_equal(1)
end)

t.test('an MX without STARTTLS still gets the mail in the clear', function()
  local mx = t.smtp('smarthost.example.net')
  t.inject(message('erin@customer.example'))
  t.run_until_idle()
  t.expect(mx:delivered()[1].tls):to_be(false)
  t.expect(t.records('Delivery')[1].tls_cipher):to_be_nil()
end)

t.test("MX records come from the policy's DNS (kumo.dns.configure_test_resolver)", function()
  -- partner.example's MX records come from the same resolver kumo.dns uses;
  -- t.smtp claims the MX host names, so their addresses lead to mock MXes.
  local kumo = require 'kumo'
  kumo.dns.configure_test_resolver {
    [[
$ORIGIN partner.example.
@    300 MX 10 mx1.partner.example.
@    300 MX 20 mx2.partner.example.
]],
  }
  local mx1 = t.smtp('mx1.partner.example')
  local mx2 = t.smtp('mx2.partner.example')
  t.inject(message('fred@partner.example'))
  t.run_until_idle()
  local d = t.records('Delivery')[1]
  t.expect(d.site):to_equal('unspecified->(mx1|mx2).partner.example@smtp_client')
  t.expect(d.peer_address.name):to_equal('mx1.partner.example.') -- preference 10 first
  t.expect(#mx1:delivered()):to_equal(1)
  t.expect(#mx2:delivered()):to_equal(0)
end)
