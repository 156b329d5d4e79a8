local t = require 'kumo-lua.testing'
FULL_POLICY_DATA_DIR = t.policy_path('.')
t.policy('init.lua')

local function message(headers)
  return 'From: <news@example.com>\r\nTo: <user@gmail.test>\r\n' .. headers .. 'Subject: hello\r\n\r\nhi there\r\n'
end

t.test('tenant, campaign and queue come from the headers; the headers are removed', function()
  local r = t.route {
    sender = 'news@example.com', recipient = 'user@gmail.test', site_name = 'gmail.test',
    content = message 'X-Tenant: acme\r\nX-Campaign: spring\r\n',
  }
  t.expect(r.queue).to_be('spring:acme@gmail.test')
  t.expect(r.tenant).to_be('acme')
  t.expect(r.campaign).to_be('spring')
  t.expect(r.data:find('X-Tenant', 1, true)).to_be_nil()
  -- queue options: [queue."gmail.test"] < [tenant.acme] < per-tenant < per-campaign
  t.expect(r.queue_config.retry_interval).to_be('5 minutes')
  t.expect(r.queue_config.max_age).to_be('1 day')
  t.expect(r.queue_config.max_message_rate).to_be('10/s')
end)

t.test("acme's pool and sources, and the egress path config shaping gives each source", function()
  local r = t.route { recipient = 'user@gmail.test', site_name = 'gmail.test', content = message 'X-Tenant: acme\r\n' }
  t.expect(r.egress_pool).to_be('acme-pool')
  t.expect(#r.egress_sources).to_be(2)
  t.expect(r.egress_sources[1].name).to_be('ip-1')
  t.expect(r.egress_sources[1].weight).to_be(2)
  t.expect(r.egress_sources[1].source.source_address).to_be('192.0.2.10')
  t.expect(r.egress_paths['ip-1'].connection_limit).to_be(5)
  t.expect(r.egress_paths['ip-1'].max_message_rate).to_be('20/s')
end)

t.test('mail without a tenant header uses the default tenant, the shared pool and the warm-up rate', function()
  local r = t.route { recipient = 'user@gmail.test', site_name = 'gmail.test', content = message '' }
  t.expect(r.tenant).to_be('default')
  t.expect(r.egress_pool).to_be('shared')
  t.expect(r.egress_paths['ip-3'].max_message_rate).to_be('2/s')
end)

t.test('a provider: every .bigmail.test domain shares per-source limits', function()
  local r = t.route { recipient = 'user@inbox.bigmail.test', site_name = 'mx.bigmail.test', content = message 'X-Tenant: acme\r\n' }
  local path = r.egress_paths['ip-2']
  t.expect(path.provider_name).to_be('bigmail')
  t.expect(path.additional_connection_limits['shaping-provider-bigmail-ip-2-limit']).to_be(20)
  t.expect(path.connection_limit).to_be(10)
end)

t.test('the billing tenant requires SMTP AUTH as billing-app', function()
  local refused = t.route { recipient = 'user@gmail.test', site_name = 'gmail.test', content = message 'X-Tenant: billing\r\n' }
  t.expect(refused.rejected.code).to_be(500)
  t.expect(refused.rejected.text).to_contain('requires SMTP AUTH')
  local ok = t.route {
    recipient = 'user@gmail.test', site_name = 'gmail.test', content = message 'X-Tenant: billing\r\n',
    conn_meta = { authz_id = 'billing-app' },
  }
  t.expect(ok.tenant).to_be('billing')
end)

t.test('messages are DKIM-signed for example.com, and the signature verifies', function()
  local r = t.route { recipient = 'user@gmail.test', site_name = 'gmail.test', content = message '' }
  local checks = t.dkim_check(r, { ['s1._domainkey.example.com'] = t.policy_path('dkim/example.com/s1.key') })
  t.expect(#checks).to_be(1)
  t.expect(checks[1].status).to_be('pass')
  t.expect(checks[1].domain).to_be('example.com')
end)

t.test('listener domains: inbound, relay from the office, feedback loops, and refusals', function()
  t.expect(t.listener_domain { sender = 'a@elsewhere.test', recipient = 'b@example.com', peer = '203.0.113.9' }.accepted).to_be(true)
  t.expect(t.listener_domain { sender = 'a@corp.example.com', recipient = 'b@gmail.test', peer = '10.2.3.4' }.relay).to_be(true)
  t.expect(t.listener_domain { sender = 'a@corp.example.com', recipient = 'b@gmail.test', peer = '203.0.113.9' }.relay).to_be(false)
  local fbl = t.listener_domain { sender = 'a@isp.test', recipient = 'report@fbl.example.com', peer = '203.0.113.9' }
  t.expect(fbl.relay).to_be(false)
  t.expect(fbl.log_arf).to_be('LogThenDrop')
  t.expect(fbl.accepted).to_be(true)
  local authed = t.listener_domain {
    sender = 'app@corp.example.com', recipient = 'b@gmail.test', peer = '203.0.113.9',
    conn_meta = { authz_id = 'billing-app' },
  }
  t.expect(authed.relay).to_be(true)
end)
