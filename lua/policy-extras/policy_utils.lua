--[[
policy-extras.policy_utils — small helpers shared by policies and by the
other policy-extras modules. Written for kumo-lua (clean room).
]]
local mod = {}

local function check_arg(value, expected_type, fname, index)
  if type(value) ~= expected_type then
    error(string.format('policy_utils.%s: argument #%d must be a %s, got %s', fname, index, expected_type, type(value)), 3)
  end
end

--- Copies every key of `src` into `dest` (shallow; `src` may be nil).
--- Returns `dest`.
function mod.merge_into(src, dest)
  if dest == nil then error('policy_utils.merge_into: the destination table (argument #2) is nil', 2) end
  if src == nil then return dest end
  check_arg(src, 'table', 'merge_into', 1)
  check_arg(dest, 'table', 'merge_into', 2)
  for k, v in pairs(src) do
    dest[k] = v
  end
  return dest
end

--- Like merge_into, but when both sides hold a plain table under the same
--- key the tables are merged recursively instead of replaced.
function mod.deep_merge_into(src, dest)
  if dest == nil then error('policy_utils.deep_merge_into: the destination table (argument #2) is nil', 2) end
  if src == nil then return dest end
  check_arg(src, 'table', 'deep_merge_into', 1)
  check_arg(dest, 'table', 'deep_merge_into', 2)
  for k, v in pairs(src) do
    if type(v) == 'table' and type(dest[k]) == 'table' and getmetatable(v) == nil and getmetatable(dest[k]) == nil then
      mod.deep_merge_into(v, dest[k])
    else
      dest[k] = v
    end
  end
  return dest
end

--- A new table with the keys of every argument, later ones winning (nil arguments skipped).
function mod.merge(...)
  local out = {}
  for i = 1, select('#', ...) do
    local t = select(i, ...)
    if t ~= nil then
      check_arg(t, 'table', 'merge', i)
      for k, v in pairs(t) do out[k] = v end
    end
  end
  return out
end

--- One level copy (the metatable is kept).
function mod.shallow_copy(t)
  if type(t) ~= 'table' then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return setmetatable(out, getmetatable(t))
end
mod.table_copy = mod.shallow_copy

--- Recursive copy; shared and cyclic sub-tables are copied once.
function mod.deep_copy(t, seen)
  if type(t) ~= 'table' then return t end
  seen = seen or {}
  if seen[t] then return seen[t] end
  local out = {}
  seen[t] = out
  for k, v in pairs(t) do out[mod.deep_copy(k, seen)] = mod.deep_copy(v, seen) end
  return setmetatable(out, getmetatable(t))
end

--- True when `value` is one of the values of `tbl` (array or map).
function mod.table_contains(tbl, value)
  if tbl == nil then return false end
  check_arg(tbl, 'table', 'table_contains', 1)
  for _, v in pairs(tbl) do
    if v == value then return true end
  end
  return false
end

--- The keys of `tbl`, sorted (numbers before strings) so output is stable.
function mod.table_keys(tbl)
  check_arg(tbl, 'table', 'table_keys', 1)
  local keys = {}
  for k in pairs(tbl) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == 'number' or ta == 'string' then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end
mod.keys = mod.table_keys

--- The number of entries in any table (not just its sequence part).
function mod.table_len(tbl)
  check_arg(tbl, 'table', 'table_len', 1)
  local n = 0
  for _ in pairs(tbl) do n = n + 1 end
  return n
end

--- True for tables whose keys are exactly 1..n (the empty table counts).
function mod.is_array(tbl)
  if type(tbl) ~= 'table' then return false end
  local n = #tbl
  for k in pairs(tbl) do
    if math.type(k) ~= 'integer' or k < 1 or k > n then return false end
  end
  return true
end

--- A set {value = true} from an array.
function mod.to_set(list)
  check_arg(list, 'table', 'to_set', 1)
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  return set
end

--- Literal (not pattern) prefix/suffix tests.
function mod.starts_with(s, prefix)
  return type(s) == 'string' and s:sub(1, #prefix) == prefix
end

function mod.ends_with(s, suffix)
  return type(s) == 'string' and (suffix == '' or s:sub(-#suffix) == suffix)
end

--- Splits on a literal separator (default ','); trims each piece and drops empty ones when `trim` is true.
function mod.split(s, sep, trim)
  check_arg(s, 'string', 'split', 1)
  sep = sep or ','
  if sep == '' then error('policy_utils.split: the separator must not be empty', 2) end
  local out, start = {}, 1
  while true do
    local i, j = s:find(sep, start, true)
    local piece = s:sub(start, (i or 0) - 1)
    if not i then piece = s:sub(start) end
    if trim then piece = mod.trim(piece) end
    if not trim or piece ~= '' then out[#out + 1] = piece end
    if not i then break end
    start = j + 1
  end
  return out
end

function mod.trim(s)
  check_arg(s, 'string', 'trim', 1)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

--- Raises "<what> must be a <expected>, got <type>" unless type(value) is
--- one of the expected names ('string', 'number', ... or several: 'string|table').
function mod.assert_type(value, expected, what)
  local actual = type(value)
  for name in tostring(expected):gmatch('[^|]+') do
    if actual == name then return value end
  end
  error(string.format('%s must be a %s, got %s', what or 'value', (expected:gsub('|', ' or ')), actual), 2)
end

--- Raises unless `value` equals one of `choices`.
function mod.assert_one_of(value, choices, what)
  for _, c in ipairs(choices) do
    if c == value then return value end
  end
  local shown = {}
  for i, c in ipairs(choices) do shown[i] = string.format('%q', tostring(c)) end
  error(string.format('%s must be one of %s, got %s', what or 'value', table.concat(shown, ', '), tostring(value)), 2)
end

--- Raises when `tbl` has keys outside `allowed` (an array of names).
function mod.assert_known_keys(tbl, allowed, what)
  local set = mod.to_set(allowed)
  local bad = {}
  for k in pairs(tbl) do
    if not set[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad > 0 then
    table.sort(bad)
    local names = mod.shallow_copy(allowed)
    table.sort(names)
    error(string.format('%s: unknown key `%s`, expected one of %s', what or 'table', bad[1], table.concat(names, ', ')), 2)
  end
  return tbl
end

--- `cond` or raise `message` (formatted with the extra arguments) at the caller.
function mod.expect(cond, message, ...)
  if cond then return cond end
  error(string.format(message or 'expectation failed', ...), 2)
end

--- True when the policy runs under `kumod --validate`.
function mod.is_validating()
  return _VALIDATING_CONFIG == true
end

--- Loads a data file: TOML when the name ends in .toml, YAML for .yaml/.yml,
--- JSON otherwise. A table is data already (helpers accept inline tables
--- wherever they accept file names) and comes back unchanged.
function mod.load_json_or_toml_file(filename)
  if type(filename) == 'table' then return filename end
  check_arg(filename, 'string', 'load_json_or_toml_file', 1)
  local kumo = require 'kumo'
  if filename:match('%.toml$') then
    return kumo.toml_load(filename)
  end
  if filename:match('%.ya?ml$') and kumo.serde and kumo.serde.yaml_load then
    return kumo.serde.yaml_load(filename)
  end
  return kumo.json_load(filename)
end
mod.load_data_file = mod.load_json_or_toml_file

--- Same as deep_merge_into (KumoMTA's name for it).
mod.recursive_merge_into = mod.deep_merge_into

--- True for a table without any entry.
function mod.table_is_empty(tbl)
  check_arg(tbl, 'table', 'table_is_empty', 1)
  return next(tbl) == nil
end

--- Deep equality: tables are equal when they hold equal values under the same keys.
function mod.equals(a, b, seen)
  if a == b then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not mod.equals(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function is_identifier(k)
  return type(k) == 'string' and k:match('^[%a_][%w_]*$') ~= nil
end

local function dump_value(v, indent, seen, out)
  local tv = type(v)
  if tv == 'string' then
    out[#out + 1] = string.format('%q', v)
  elseif tv ~= 'table' then
    out[#out + 1] = tostring(v)
  elseif seen[v] then
    out[#out + 1] = '<cycle>'
  elseif next(v) == nil then
    out[#out + 1] = '{}'
  else
    seen[v] = true
    local inner = indent .. '  '
    out[#out + 1] = '{\n'
    local array = mod.is_array(v)
    for _, k in ipairs(mod.table_keys(v)) do
      out[#out + 1] = inner
      if not array then
        out[#out + 1] = is_identifier(k) and k or ('[' .. (type(k) == 'string' and string.format('%q', k) or tostring(k)) .. ']')
        out[#out + 1] = ' = '
      end
      dump_value(v[k], inner, seen, out)
      out[#out + 1] = ',\n'
    end
    out[#out + 1] = indent .. '}'
    seen[v] = nil
  end
end

--- A readable, stable (keys sorted) Lua-like rendering of any value, for messages and debugging.
function mod.dumps(value)
  local out = {}
  dump_value(value, '', {}, out)
  return table.concat(out)
end

local function failure(message, default)
  if message ~= nil then return tostring(message) .. ': ' .. default end
  return default
end

--- Raises (at the caller) unless `actual` equals `expected` deeply.
function mod.assert_eq(actual, expected, message)
  if not mod.equals(actual, expected) then
    error(failure(message, string.format('expected %s, got %s', mod.dumps(expected), mod.dumps(actual))), 2)
  end
end

--- Raises (at the caller) when `actual` equals `unexpected` deeply.
function mod.assert_ne(actual, unexpected, message)
  if mod.equals(actual, unexpected) then
    error(failure(message, string.format('expected a value other than %s', mod.dumps(unexpected))), 2)
  end
end

--- Raises (at the caller) unless the string `actual` matches the Lua pattern.
function mod.assert_matches(actual, pattern, message)
  if type(actual) ~= 'string' or not actual:match(pattern) then
    error(failure(message, string.format('expected %s to match %s', mod.dumps(actual), mod.dumps(pattern))), 2)
  end
end

--- Splits "ip:port", "[v6]:port", "[v6]", a bare IPv4 or IPv6 address into
--- the address and the port (a number, nil when absent).
function mod.split_ip_port(text)
  check_arg(text, 'string', 'split_ip_port', 1)
  local bracketed, rest = text:match('^%[([^%]]+)%](.*)$')
  if bracketed then
    if rest == '' then return bracketed, nil end
    local port = rest:match('^:(%d+)$')
    if not port then error(string.format('policy_utils.split_ip_port: cannot parse %q as [address]:port', text), 2) end
    return bracketed, math.tointeger(tonumber(port))
  end
  local _, colons = text:gsub(':', '')
  if colons == 1 then
    local ip, port = text:match('^(.+):(%d+)$')
    if not ip then error(string.format('policy_utils.split_ip_port: cannot parse %q as address:port', text), 2) end
    return ip, math.tointeger(tonumber(port))
  end
  -- No colon (IPv4) or several (a bare IPv6 address): no port.
  return text, nil
end

return mod
