--[[
policy-extras.typing_record — record types for policy-extras.typing (kept in
its own file for size; policies use typing.record). Written for kumo-lua.
]]
return function(mod, h)
  local new_type, fail, invalid_type, nest, expect_type, quoted_list =
    h.new_type, h.fail, h.invalid_type, h.nest, h.expect_type, h.quoted_list
  local Instance = {}

  --- A table with named fields. Unknown fields are errors; option/default
  --- fields may be absent. The result is a copy whose metatable catches typos:
  --- reading or assigning a field the record does not declare raises.
  function mod.record(name, fields)
    if type(name) ~= 'string' then error('record: the first argument must be the record name', 2) end
    if type(fields) ~= 'table' then error('record ' .. name .. ': the second argument must be a table of field types', 2) end
    local field_names = {}
    for k, t in pairs(fields) do
      if type(k) ~= 'string' then error('record ' .. name .. ': field names must be strings', 2) end
      expect_type(t, 'record ' .. name .. ' field `' .. k .. '`')
      field_names[#field_names + 1] = k
    end
    table.sort(field_names)

    local rec
    local meta = {
      __index = function(_, key)
        if fields[key] == nil then
          error(string.format('%s has no field `%s` (fields: %s)', name, tostring(key), quoted_list(field_names)), 2)
        end
        return nil
      end,
      __newindex = function(self, key, value)
        local t = fields[key]
        if t == nil then
          error(string.format('%s has no field `%s` (fields: %s)', name, tostring(key), quoted_list(field_names)), 2)
        end
        local ok, r = t._check(value)
        if not ok then error(mod.format_error(nest(r, key), name), 2) end
        rawset(self, key, r)
      end,
      __record = nil,
    }

    rec = new_type(name, function(v)
      if type(v) ~= 'table' then return invalid_type(v, 'struct ' .. name) end
      if getmetatable(v) == meta then return true, v end
      local unknown = {}
      for k in pairs(v) do
        if fields[k] == nil then unknown[#unknown + 1] = tostring(k) end
      end
      if #unknown > 0 then
        table.sort(unknown)
        return fail(string.format('unknown field `%s`, expected one of %s', unknown[1], quoted_list(field_names)))
      end
      local out = {}
      for _, k in ipairs(field_names) do
        local t = fields[k]
        local x = v[k]
        if x == nil and not t.optional then
          return fail(string.format('missing field `%s`', k))
        end
        local ok, r = t._check(x)
        if not ok then return false, nest(r, k) end
        out[k] = r
      end
      return true, setmetatable(out, meta)
    end, { fields = fields, field_names = field_names })
    meta.__record = rec
    Instance[meta] = rec

    --- Same as calling the record type.
    function rec:construct(value)
      local v = self:validate(value, self.name, 2)
      return v
    end
    return rec
  end

  --- The record type of a value produced by a record, or nil.
  function mod.record_of(value)
    local m = getmetatable(value)
    return m and Instance[m] or nil
  end
end
