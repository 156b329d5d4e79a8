--[[
policy-extras.docker_utils — name lookups for policies running in Docker
(KumoMTA's helper of the same name, written for kumo-lua from its
description). Uses `getent` through io.popen.
]]
local kumo = require 'kumo'

local mod = {}

--- Lines of `getent ahostsv4 <name>` → the IPv4 addresses of the STREAM lines.
function mod.parse_getent(output)
  local ips = {}
  for line in output:gmatch('[^\n]+') do
    local ip = line:match('^(%d+%.%d+%.%d+%.%d+)%s+STREAM')
    if ip then ips[#ips + 1] = ip end
  end
  return ips
end

local function getent(name)
  if type(name) ~= 'string' or not name:match('^[%w][%w%.%-_]*$') then
    error(string.format('docker_utils: %q is not a host name', tostring(name)), 3)
  end
  local pipe = io.popen('getent ahostsv4 ' .. name)
  local output = pipe:read('a') or ''
  pipe:close()
  return mod.parse_getent(output)
end

mod.resolve_docker_name = kumo.memoize(getent, { name = 'docker_resolve_name', ttl = '1 minute', capacity = 100 })

--- The /24 of this container's first address, e.g. '172.18.0.0/24'.
mod.resolve_docker_network = kumo.memoize(function()
  local hostname = os.getenv('HOSTNAME')
  if hostname == nil or hostname == '' then error('docker_utils.resolve_docker_network: HOSTNAME is not set') end
  local ip = mod.resolve_docker_name(hostname)[1]
  if ip == nil then error('docker_utils.resolve_docker_network: no IPv4 address for ' .. hostname) end
  return (ip:gsub('%d+$', '0')) .. '/24'
end, { name = 'docker_resolve_network', ttl = '1 hour', capacity = 1 })

--- http://<ip>:8008 for each address of the `tsa` service.
function mod.resolve_tsa_endpoints()
  local endpoints = {}
  for i, ip in ipairs(mod.resolve_docker_name('tsa')) do
    endpoints[i] = string.format('http://%s:8008', ip)
  end
  return endpoints
end

return mod
