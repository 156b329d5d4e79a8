import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

describe('kumo.mpsc (§3.12)', () => {
  it('a named queue shared by name; values are JSON copies; first definition wins', async () => {
    const t = newLua();
    await t.eval("local q = kumo.mpsc.define('jobs', 2) q:send({ id = 1, tags = { 'a' } }) q:send('two')");
    expect(await t.eval("local q = kumo.mpsc.define('jobs') return { q:len(), q:is_empty(), q:try_send(3) }")).toEqual([2, false, false]);
    expect(await t.eval("local q = kumo.mpsc.define('jobs') return { q:recv(), q:try_recv(), q:try_recv() }")).toEqual([{ id: 1, tags: ['a'] }, 'two']);
    expect(await t.eval("return kumo.mpsc.define('jobs'):is_empty()")).toBe(true);
  });

  it('recv waits for a sender in another coroutine; close ends recv with nil', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('producer', function(args)
        local q = kumo.mpsc.define('pipe')
        for _, v in ipairs(args) do q:send(v) end
        q:close()
      end)
    `);
    const got = t.eval(`
      local q = kumo.mpsc.define('pipe')
      kumo.spawn_task { event_name = 'producer', args = { 1, 2, 3 } }
      local out = {}
      local batch = q:recv_many(10)
      for _, v in ipairs(batch) do table.insert(out, v) end
      while true do
        local v = q:recv()
        if v == nil then break end
        table.insert(out, v)
      end
      return { out, q:is_closed() }
    `);
    expect(await got).toEqual([[1, 2, 3], true]);
    expect(await errorOf(t.eval("kumo.mpsc.define('pipe'):send(4)"))).toMatch(/mpsc queue pipe is closed/);
  });

  it('a full bounded queue makes send_timeout fail', async () => {
    const t = newLua();
    await t.eval("local q = kumo.mpsc.define('tiny', 1) q:send(1)");
    expect(await errorOf(t.eval("kumo.mpsc.define('tiny'):send_timeout(2, 0.01)"))).toMatch(/send timed out/);
  });
});
