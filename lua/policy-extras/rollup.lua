--[[
policy-extras.rollup — route mail for domains that share MX hosts through
one queue (KumoMTA's helper of the same name, written for kumo-lua from its
description). No data file: the tables are passed in.

  local rollup = require 'policy-extras.rollup'
  kumo.on('smtp_server_message_received', function(msg)
    rollup.reroute_based_on_mx_host_suffix(msg, { ['.mail.protection.outlook.com'] = 'outlook.rollup' })
  end)
]]
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

local function bare(host)
  return (host:gsub('%.$', ''))
end

--- The suffix (a key of `suffixes`) that every host ends with, or nil.
local function common_suffix(hosts, suffixes)
  if #hosts == 0 then return nil end
  for _, suffix in ipairs(utils.table_keys(suffixes)) do
    local all = true
    for _, host in ipairs(hosts) do
      if not utils.ends_with(bare(host), bare(suffix)) then
        all = false
        break
      end
    end
    if all then return suffix end
  end
  return nil
end

--- The hosts with the lowest preference value (the ones tried first).
local function first_preference_hosts(mx)
  local best = nil
  for pref in pairs(mx.by_pref or {}) do
    local n = tonumber(pref)
    if best == nil or n < best then best = n end
  end
  if best == nil then return mx.hosts or {} end
  return mx.by_pref[best] or mx.by_pref[tostring(best)] or {}
end

local function first_recipient_domain(msg)
  local first = msg:recipient_list()[1]
  return first and first.domain
end

--- Sets meta routing_domain when every MX host of the first recipient's
--- domain ends with one of the suffixes. Errors are printed and ignored.
function mod.reroute_based_on_mx_host_suffix(msg, suffixes)
  local ok, err = pcall(function()
    local domain = first_recipient_domain(msg)
    if not domain then return end
    local suffix = common_suffix(kumo.dns.lookup_mx(domain).hosts, suffixes)
    if suffix and suffixes[suffix] ~= domain then msg:set_meta('routing_domain', suffixes[suffix]) end
  end)
  if not ok then print('rollup.reroute_based_on_mx_host_suffix: ' .. tostring(err)) end
end

--- Like reroute_based_on_mx_host_suffix, testing only the first-preference
--- hosts; routing_domain becomes the match (a `*.ip_rollup` name) or null.
function mod.reroute_using_ip_rollup(msg, suffixes)
  local ok, err = pcall(function()
    local domain = first_recipient_domain(msg)
    if not domain then return end
    local suffix = common_suffix(first_preference_hosts(kumo.dns.lookup_mx(domain)), suffixes)
    msg:set_meta('routing_domain', suffix and suffixes[suffix] or nil)
  end)
  if not ok then print('rollup.reroute_using_ip_rollup: ' .. tostring(err)) end
end

--- For a `*.ip_rollup` routing domain, pins delivery to the first-preference
--- MX hosts of `domain` (their addresses, sorted). Returns `params`.
function mod.apply_ip_rollup_to_queue_config(domain, routing_domain, params)
  if not (routing_domain and routing_domain:match('%.ip_rollup$')) then return params end
  local entries = {}
  for _, host in ipairs(first_preference_hosts(kumo.dns.lookup_mx(domain))) do
    for _, addr in ipairs(kumo.dns.lookup_addr(bare(host))) do
      entries[#entries + 1] = { name = bare(host), addr = addr }
    end
  end
  table.sort(entries, function(a, b) return a.addr < b.addr end)
  params.protocol = { smtp = { mx_list = entries } }
  return params
end

return mod
