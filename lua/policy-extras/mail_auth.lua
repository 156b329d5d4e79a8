--[[
policy-extras.mail_auth — one call for DKIM, SPF, iprev, SMTP AUTH, DMARC
and ARC results plus an Authentication-Results header (KumoMTA's helper of
the same name, written for kumo-lua from its description).

  local mail_auth = require 'policy-extras.mail_auth'
  kumo.on('smtp_server_message_received', function(msg) mail_auth.check(msg) end)
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

local CONFIG_KEYS = { 'dkim', 'spf', 'iprev', 'smtp_auth', 'dmarc', 'arc', 'add_auth_results_header', 'server_id', 'resolver' }

local function result(method, value, reason, props)
  return { method = method, result = value, reason = reason, props = props or {} }
end

--- iprev (RFC 8601 §3): the IP's PTR names must resolve back to it.
function mod.iprev(ip, resolver)
  local props = { ['smtp.remote-ip'] = ip }
  local ok, names = pcall(kumo.dns.lookup_ptr, ip, resolver)
  if not ok then return result('iprev', 'temperror', tostring(names), props) end
  if #names == 0 then return result('iprev', 'permerror', 'no PTR records for ' .. ip, props) end
  for _, name in ipairs(names) do
    local found, addrs = pcall(kumo.dns.lookup_addr, name, resolver)
    if found and utils.table_contains(addrs, ip) then
      return result('iprev', 'pass', string.format('ip %s <-> %s', ip, name), props)
    end
  end
  return result('iprev', 'fail', string.format('no PTR name of %s resolves back to it', ip), props)
end

function mod.iprev_msg(msg, resolver)
  local peer = msg:get_meta 'received_from'
  if peer == nil then return result('iprev', 'none', 'no received_from meta on the message') end
  return mod.iprev((utils.split_ip_port(peer)), resolver)
end

local function smtp_auth_result(msg)
  local props = { ['smtp.mailfrom'] = tostring(msg:sender()) }
  local authn = msg:get_meta 'authn_id'
  if authn ~= nil then
    props['smtp.auth'] = authn
    return result('auth', 'pass', nil, props)
  end
  return result('auth', 'none', nil, props)
end

--- check(msg, config?) → { dkim, spf, iprev, smtp_auth, dmarc, arc, auth_results }
function mod.check(msg, config)
  config = config or {}
  utils.assert_known_keys(config, CONFIG_KEYS, 'mail_auth.check config')
  local function on(key) return config[key] ~= false end
  local resolver = config.resolver
  local out, all = {}, {}
  local function add(key, value)
    out[key] = value
    if value[1] ~= nil or value.method == nil then
      for _, r in ipairs(value) do all[#all + 1] = r end
    else
      all[#all + 1] = value
    end
  end

  local verified = {}
  if on 'dkim' then
    verified = msg:dkim_verify()
    add('dkim', #verified > 0 and verified or { result('dkim', 'none', 'message was not signed') })
  end
  if on 'spf' then add('spf', kumo.spf.check_msg(msg).result) end
  if on 'iprev' then add('iprev', mod.iprev_msg(msg, resolver)) end
  if on 'smtp_auth' then add('smtp_auth', smtp_auth_result(msg)) end
  if on 'dkim' and on 'spf' and on 'dmarc' then
    add('dmarc', kumo.dmarc.check_msg(msg, verified, resolver, out.spf, false).result)
  end
  if on 'arc' then add('arc', msg:arc_verify()) end

  out.auth_results = all
  if on 'add_auth_results_header' then
    local server_id = config.server_id or msg:get_meta 'hostname' or 'localhost'
    msg:add_authentication_results(server_id, all)
  end
  return out
end

return mod
