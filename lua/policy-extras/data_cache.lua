--[[
policy-extras.data_cache — the cache shared by the data-file helpers
(internal): the parsed data is memoized under the helper's KumoMTA cache name,
and domain maps built from it are kept until the data is reloaded (kumo.memoize
hands out copies, so the maps cannot live inside the cached value).
]]
local kumo = require 'kumo'

local mod = {}

--- new{ name, ttl, load, invalidate_with_epoch? } → get(); get() returns
--- data, map_of where map_of(key, tbl) is the domain map of `tbl` for this load.
function mod.new(opts)
  local generation = 0
  local memo = kumo.memoize(function()
    local data = opts.load()
    generation = generation + 1
    return { generation = generation, data = data }
  end, { name = opts.name, ttl = opts.ttl, capacity = 10, invalidate_with_epoch = opts.invalidate_with_epoch ~= false })

  local maps, maps_generation = {}, nil
  return function()
    local loaded = memo()
    if maps_generation ~= loaded.generation then maps, maps_generation = {}, loaded.generation end
    local function map_of(key, tbl)
      if maps[key] == nil and tbl ~= nil then maps[key] = kumo.domain_map.new(tbl) end
      return maps[key]
    end
    return loaded.data, map_of
  end
end

return mod
