-- kumo-lua's policy test harness, Lua side: test registration and expectations.
-- The environment-facing functions (mocked endpoints, injection, the virtual
-- clock, captured records) come from 'kumo-lua.testing.host', which the
-- harness preloads into each test's fresh Lua state.
local host = require 'kumo-lua.testing.host'

local M = {}

-- Test registration -------------------------------------------------------

--- Declares a test. Each test runs in its own fresh kumo-lua instance: the
--- test file (and the policy it loads) is evaluated again for every test.
function M.test(name, fn)
  if type(name) ~= 'string' then error('test name must be a string', 2) end
  if type(fn) ~= 'function' then error('test body must be a function', 2) end
  host.register_test(name, fn)
end

-- Deep equality -----------------------------------------------------------

-- The same deep equality as policy-extras.policy_utils.equals.
local deep_equal = require('policy-extras.policy_utils').equals
M.deep_equal = deep_equal

-- Expectations --------------------------------------------------------------

local Expectation = {}
Expectation.__index = Expectation

-- Level 3 blames the test line that called the matcher.
local function fail(message)
  error(message, 3)
end

local function show(v)
  return host.show(v)
end

function Expectation:to_equal(expected)
  if not deep_equal(self.actual, expected) then
    fail('expected values to be equal\n' .. host.diff(expected, self.actual))
  end
  return self
end

function Expectation:to_be(expected)
  if self.actual ~= expected then
    fail(('expected %s to be %s'):format(show(self.actual), show(expected)))
  end
  return self
end

function Expectation:to_be_nil()
  if self.actual ~= nil then fail(('expected nil, got %s'):format(show(self.actual))) end
  return self
end

function Expectation:to_be_truthy()
  if not self.actual then fail(('expected a truthy value, got %s'):format(show(self.actual))) end
  return self
end

function Expectation:to_be_falsy()
  if self.actual then fail(('expected a falsy value, got %s'):format(show(self.actual))) end
  return self
end

function Expectation:to_contain(item)
  local a = self.actual
  if type(a) == 'string' then
    if type(item) ~= 'string' or not a:find(item, 1, true) then
      fail(('expected %s to contain %s'):format(show(a), show(item)))
    end
  elseif type(a) == 'table' then
    for _, v in pairs(a) do
      if deep_equal(v, item) then return self end
    end
    fail(('expected %s to contain %s'):format(show(a), show(item)))
  else
    fail(('expected a string or table to search in, got %s'):format(show(a)))
  end
  return self
end

function Expectation:to_match(pattern)
  if type(self.actual) ~= 'string' or not self.actual:match(pattern) then
    fail(('expected %s to match the Lua pattern %s'):format(show(self.actual), show(pattern)))
  end
  return self
end

function Expectation:to_have_length(n)
  local len = type(self.actual) == 'table' and #self.actual or type(self.actual) == 'string' and #self.actual or nil
  if len ~= n then
    fail(('expected length %s, got %s (%s)'):format(show(n), show(len), show(self.actual)))
  end
  return self
end

local function compare(self, other, ok, relation)
  if type(self.actual) ~= 'number' or type(other) ~= 'number' then
    fail(('expected two numbers to compare, got %s and %s'):format(show(self.actual), show(other)))
  end
  if not ok then fail(('expected %s to be %s %s'):format(show(self.actual), relation, show(other))) end
  return self
end

function Expectation:to_be_greater_than(n)
  return compare(self, n, type(self.actual) == 'number' and type(n) == 'number' and self.actual > n, 'greater than')
end

function Expectation:to_be_at_least(n)
  return compare(self, n, type(self.actual) == 'number' and type(n) == 'number' and self.actual >= n, 'at least')
end

function Expectation:to_be_less_than(n)
  return compare(self, n, type(self.actual) == 'number' and type(n) == 'number' and self.actual < n, 'less than')
end

function Expectation:to_be_at_most(n)
  return compare(self, n, type(self.actual) == 'number' and type(n) == 'number' and self.actual <= n, 'at most')
end

--- t.expect(actual).to_equal(expected) and friends; `:` works too.
function M.expect(actual)
  local e = { actual = actual }
  for name, matcher in pairs(Expectation) do
    if name ~= '__index' then
      e[name] = function(first, ...)
        if first == e then return matcher(e, ...) end
        return matcher(e, first, ...)
      end
    end
  end
  return e
end

--- Expects fn to raise an error whose text contains `needle` (plain text).
function M.expect_error(fn, needle)
  local ok, err = pcall(fn)
  if ok then fail('expected an error, but the function returned normally') end
  local text = tostring(err)
  if needle ~= nil and not text:find(needle, 1, true) then
    fail(('expected an error containing %s, got %s'):format(show(needle), show(text)))
  end
  return text
end

-- Environment ---------------------------------------------------------------

--- Loads a policy file (path relative to the test file) into this test's
--- Lua state: its top level runs and registers its handlers.
function M.policy(path)
  return dofile(host.policy_path(path))
end

-- Everything else is provided by the host: policy, start, http, kafka, amqp,
-- inject, log_record, advance, now, run_until_idle, records, messages.
return setmetatable(M, { __index = host })
