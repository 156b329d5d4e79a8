--[[
policy-extras.typing — small run-time type descriptions for policy tables.

Written for kumo-lua (clean room). A type is a table with a `name` and a
checker; calling a type validates a value and returns it (records return a
checked copy with defaults filled in). Error texts reuse serde's wording
("invalid type: ..., expected ...", "missing field `x`", "unknown field `x`,
expected one of ...") so that they read the same as errors raised by KumoMTA's
own host constructors, prefixed with where in the value the problem is.

  local typing = require 'policy-extras.typing'
  local Record, String, Option, List = typing.record, typing.string, typing.option, typing.list
  local Server = Record('Server', { host = String, port = Option(typing.integer) })
  local s = Server { host = 'mx.example.com' }
]]
local utils = require 'policy-extras.policy_utils'
local mod = {}

local Type = {}
Type.__index = Type

-- A checker returns true, value  or  false, { path = {...}, message = '...' }.
local function new_type(name, checker, extra)
  local t = setmetatable(extra or {}, Type)
  t.name = name
  t._check = checker
  return t
end

local function fail(message)
  return false, { path = {}, message = message }
end

-- Describes a value the way serde does in "invalid type" messages.
local function describe(value)
  local ty = type(value)
  if ty == 'nil' then
    return 'nil'
  elseif ty == 'string' then
    local shown = value
    if #shown > 60 then shown = shown:sub(1, 57) .. '...' end
    return string.format('string %q', shown)
  elseif ty == 'number' then
    if math.type(value) == 'integer' then
      return string.format('integer `%d`', value)
    end
    return string.format('floating point `%s`', tostring(value))
  elseif ty == 'boolean' then
    return string.format('boolean `%s`', tostring(value))
  end
  return ty
end
mod.describe = describe

local function invalid_type(value, expected)
  return fail(string.format('invalid type: %s, expected %s', describe(value), expected))
end

local function is_identifier(key)
  return type(key) == 'string' and key:match('^[%a_][%w_]*$') ~= nil
end

local function path_segment(key)
  if is_identifier(key) then return '.' .. key end
  if type(key) == 'string' then return string.format('[%q]', key) end
  return '[' .. tostring(key) .. ']'
end

-- Prepends a path segment to an error coming from a nested value.
local function nest(err, key)
  table.insert(err.path, 1, path_segment(key))
  return err
end

--- Renders an error as "<where>: <message>"; `root` names the value.
function mod.format_error(err, root)
  local where = (root or '') .. table.concat(err.path)
  where = where:gsub('^%.', '')
  if where == '' then return err.message end
  return where .. ': ' .. err.message
end

--- Checks `value` without raising: true, value  or  false, error-text.
function Type:check(value, root)
  local ok, result = self._check(value)
  if ok then return true, result end
  return false, mod.format_error(result, root)
end

function Type:is_valid(value)
  return (self._check(value))
end

--- Raises (pointing at the caller) when `value` does not match.
function Type:validate(value, root, level)
  local ok, result = self._check(value)
  if ok then return result end
  error(mod.format_error(result, root or self.name), (level or 1) + 1)
end

-- Not tail calls: the error level counts these frames.
Type.__call = function(self, value)
  local v = self:validate(value, self.name, 2)
  return v
end

Type.__tostring = function(self)
  return 'type ' .. self.name
end

function mod.is_type(v)
  return getmetatable(v) == Type
end

local function expect_type(t, what)
  if not mod.is_type(t) then
    error(string.format('%s: expected a type from policy-extras.typing, got %s', what, describe(t)), 3)
  end
  return t
end

-- Scalars ----------------------------------------------------------------

local function primitive(name, lua_type, expected)
  return new_type(name, function(v)
    if type(v) == lua_type then return true, v end
    return invalid_type(v, expected)
  end)
end

mod.string = primitive('string', 'string', 'a string')
mod.number = primitive('number', 'number', 'a number')
mod.boolean = primitive('boolean', 'boolean', 'a boolean')
mod.table = primitive('table', 'table', 'a table')
mod.userdata = primitive('userdata', 'userdata', 'userdata')
mod.func = primitive('function', 'function', 'a function')
mod['function'] = mod.func

--- Integers: Lua integers, and floats with no fraction (converted).
mod.integer = new_type('integer', function(v)
  if type(v) == 'number' then
    local i = math.tointeger(v)
    if i then return true, i end
  end
  return invalid_type(v, 'an integer')
end)

--- Any value except nil (use option(any) for "may be absent").
mod.any = new_type('any', function(v)
  if v == nil then return fail('invalid type: nil, expected any value') end
  return true, v
end)

local DURATION_UNITS = {}
for _, u in ipairs {
  'ns', 'nsec', 'nanos', 'us', 'usec', 'µs', 'ms', 'msec', 'millis', 's', 'sec', 'secs', 'second', 'seconds',
  'm', 'min', 'mins', 'minute', 'minutes', 'h', 'hr', 'hrs', 'hour', 'hours', 'd', 'day', 'days',
  'w', 'wk', 'wks', 'week', 'weeks', 'M', 'month', 'months', 'y', 'yr', 'yrs', 'year', 'years',
} do
  DURATION_UNITS[u] = true
end

--- True when `s` is a humantime duration such as "1m", "1h 30m" or "1.5 hours".
function mod.is_duration_string(s)
  if type(s) ~= 'string' then return false end
  local rest = s:gsub('^%s+', ''):gsub('%s+$', '')
  if rest == '' then return false end
  while rest ~= '' do
    local num, ws, unit, tail = rest:match('^(%d+%.?%d*)(%s*)([^%d%s%.]+)%s*(.*)$')
    if not num or not DURATION_UNITS[unit] then return false end
    rest = tail
  end
  return true
end

--- A duration: non-negative seconds, or a humantime string.
mod.duration = new_type('duration', function(v)
  if type(v) == 'number' and v >= 0 then return true, v end
  if mod.is_duration_string(v) then return true, v end
  if type(v) == 'string' then
    return fail(string.format('invalid value: %s, expected a duration', describe(v)))
  end
  return invalid_type(v, 'a duration (seconds, or a string such as "5m")')
end)

-- Constructors -----------------------------------------------------------

--- nil is accepted; anything else must match `t`.
function mod.option(t)
  expect_type(t, 'option')
  return new_type('option<' .. t.name .. '>', function(v)
    if v == nil then return true, nil end
    return t._check(v)
  end, { optional = true, inner = t })
end

local deep_copy = utils.deep_copy

--- Like option, but nil becomes (a copy of) `value`.
function mod.default(t, value)
  expect_type(t, 'default')
  local ok, err = t._check(value)
  if not ok then
    error('default: the default value does not match ' .. t.name .. ': ' .. mod.format_error(err), 2)
  end
  return new_type(t.name, function(v)
    if v == nil then return true, deep_copy(value) end
    return t._check(v)
  end, { optional = true, inner = t, default_value = value })
end

local is_sequence = utils.is_array

--- An array table (1..n, no other keys) whose elements match `t`.
function mod.list(t)
  expect_type(t, 'list')
  return new_type('list<' .. t.name .. '>', function(v)
    if type(v) ~= 'table' or not is_sequence(v) then
      return invalid_type(v, 'a sequence (list of ' .. t.name .. ')')
    end
    local out = {}
    for i = 1, #v do
      local ok, r = t._check(v[i])
      if not ok then return false, nest(r, i) end
      out[i] = r
    end
    return true, setmetatable(out, getmetatable(v))
  end, { inner = t })
end

--- A table whose keys match `k` and values match `v`.
function mod.map(k, v)
  expect_type(k, 'map key')
  expect_type(v, 'map value')
  return new_type('map<' .. k.name .. ', ' .. v.name .. '>', function(value)
    if type(value) ~= 'table' then return invalid_type(value, 'a map') end
    local out = {}
    for key, x in pairs(value) do
      local ok, rk = k._check(key)
      if not ok then
        rk.message = 'key ' .. describe(key) .. ': ' .. rk.message
        return false, rk
      end
      local okv, rv = v._check(x)
      if not okv then return false, nest(rv, key) end
      out[rk] = rv
    end
    return true, out
  end, { key = k, value = v })
end

local function quoted_list(names)
  local parts = {}
  for i, n in ipairs(names) do parts[i] = '`' .. tostring(n) .. '`' end
  return table.concat(parts, ', ')
end

--- One of a fixed set of strings: enum('Strategy', 'Ttl', 'Epoch') as in
--- KumoMTA's helper, or with the variants in a list: enum('Strategy', {'Ttl', 'Epoch'}).
function mod.enum(name, variants, ...)
  if type(name) == 'table' and variants == nil then
    variants, name = name, 'enum'
  elseif type(variants) == 'string' then
    variants = { variants, ... }
  end
  if type(variants) ~= 'table' or #variants == 0 then
    error('enum: expected a non-empty list of variant names', 2)
  end
  local allowed = {}
  for _, v in ipairs(variants) do allowed[v] = true end
  local t = new_type(name, function(v)
    if allowed[v] then return true, v end
    if type(v) == 'string' then
      return fail(string.format('unknown variant `%s`, expected one of %s', v, quoted_list(variants)))
    end
    return invalid_type(v, name .. ' (one of ' .. quoted_list(variants) .. ')')
  end, { variants = variants })
  return t
end

--- The first of several types that accepts the value.
function mod.union(...)
  local types = { ... }
  local names = {}
  for i, t in ipairs(types) do
    expect_type(t, 'union member ' .. i)
    names[i] = t.name
  end
  local name = table.concat(names, ' | ')
  return new_type(name, function(v)
    local reasons = {}
    for i, t in ipairs(types) do
      local ok, r = t._check(v)
      if ok then return true, r end
      reasons[i] = t.name .. ': ' .. mod.format_error(r)
    end
    return fail(string.format('%s did not match any of %s (%s)', describe(v), name, table.concat(reasons, '; ')))
  end, { members = types })
end
mod.one_of = mod.union

--- KumoMTA's name for a union; like KumoMTA's, it needs at least two types.
function mod.variant(...)
  local n = select('#', ...)
  if n < 2 then
    error(string.format('typing.variant: must have a list of 2 or more variants, %d were provided', n), 2)
  end
  return mod.union(...)
end

--- `t` narrowed by `predicate(value)`, which returns nil/true when the value
--- is fine, or false / a message describing the problem.
function mod.refine(t, name, predicate)
  expect_type(t, 'refine')
  return new_type(name, function(v)
    local ok, r = t._check(v)
    if not ok then return false, r end
    local verdict = predicate(r)
    if verdict == nil or verdict == true then return true, r end
    if type(verdict) ~= 'string' then verdict = string.format('invalid value: %s, expected %s', describe(v), name) end
    return fail(verdict)
  end, { optional = t.optional, inner = t })
end

--- Text of a KumoMTA "(S+)" host error: the part between "deserialize error: "
--- and ", while processing"; nil when the text has another shape.
function mod.extract_deserialize_error(text)
  text = tostring(text)
  local inner = text:match('deserialize error: (.*), while processing')
  if inner then return inner end
  return text:match('deserialize error: ([^\n]*)')
end

--- A type checked by a host constructor such as kumo.make_queue_config:
--- valid when `fn(value)` does not raise. The (S+) message is kept readable.
function mod.from_constructor(name, fn)
  return new_type(name, function(v)
    local ok, err = pcall(fn, v)
    if ok then return true, v end
    local inner = mod.extract_deserialize_error(err)
    return fail(inner or tostring(err))
  end)
end

-- Records live in typing_record.lua.
require('policy-extras.typing_record')(mod, {
  new_type = new_type, fail = fail, invalid_type = invalid_type, nest = nest,
  expect_type = expect_type, quoted_list = quoted_list,
})

-- Aliases in the capitalised style many policies use.
mod.Any = mod.any
mod.String = mod.string
mod.Number = mod.number
mod.Integer = mod.integer
mod.Boolean = mod.boolean
mod.Bool = mod.boolean
mod.Table = mod.table
mod.Function = mod.func
mod.Userdata = mod.userdata
mod.Duration = mod.duration
mod.Option = mod.option
mod.Default = mod.default
mod.List = mod.list
mod.Map = mod.map
mod.Enum = mod.enum
mod.Union = mod.union
mod.OneOf = mod.union
mod.Record = mod.record

return mod
