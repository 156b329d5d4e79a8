/**
 * Time slicing on the one Lua state (src/lua/runtime.ts cpuHook): a handler
 * stuck in a loop gives up its turn every slice, so other handlers and host
 * waits are served before the CPU guard stops it. Assertions are on order,
 * not on wall time.
 */
import { describe, expect, it } from 'vitest';
import { LuaRuntime } from '../../src/lua/runtime.ts';
import { lua, type LuaState } from '../../src/lua/fengari.ts';
import { asyncFunction } from '../../src/lua/host-function.ts';
import { toJson } from '../../src/lua/marshal.ts';
import { keyBytes } from '../../src/lua/strings.ts';

/** A runtime with `sleep(ms)` (a host timer), `now()` (wall ms, sync) and `note(s)` (appends to `events`). */
function runtime(options: ConstructorParameters<typeof LuaRuntime>[0] = {}) {
  const rt = new LuaRuntime({ print: () => undefined, ...options });
  const events: string[] = [];
  const define = (name: string, fn: (L: LuaState) => number) => {
    lua.lua_pushcfunction(rt.L, fn);
    lua.lua_setglobal(rt.L, keyBytes(name));
  };
  define('sleep', asyncFunction('sleep', async (Ls) => {
    const ms = Number(lua.lua_tointeger(Ls, 1));
    await new Promise((r) => setTimeout(r, ms));
  }));
  define('now', (Ls) => (lua.lua_pushnumber(Ls, Date.now()), 1));
  define('note', (Ls) => (events.push(lua.lua_tojsstring(Ls, 1)), 0));
  const run = (code: string, label = 'test') => rt.evaluate(code, (co, n) => (n > 0 ? toJson(co, 1) : null), label);
  /** Records 'label:done' or 'label:stopped' when the call settles. */
  const track = (label: string, p: Promise<unknown>) =>
    p.then(() => void events.push(`${label}:done`), (e: Error) => void events.push(`${label}:${/ran for more than/.test(e.message) ? 'stopped' : e.message}`));
  return { rt, run, track, events };
}

describe('time slicing', () => {
  it('another handler waits on a host timer and finishes before the guard stops a spinning one', async () => {
    const { run, track, events } = runtime({ cpuLimitMs: 2000 });
    const spinner = track('spin', run('while true do end', 'event:spin'));
    const other = track('other', run('sleep(5); note("other ran"); return 1', 'event:other'));
    await Promise.all([spinner, other]);
    expect(events).toEqual(['other ran', 'other:done', 'spin:stopped']);
  });

  it('a loop inside a user coroutine (coroutine.wrap, nested) is sliced too', async () => {
    const { run, track, events } = runtime({ cpuLimitMs: 2000 });
    const spinner = track('spin', run(`
      local inner = coroutine.wrap(function() while true do end end)
      local outer = coroutine.wrap(function() inner() end)
      outer()
    `, 'event:spin'));
    const other = track('other', run('sleep(1); return 1', 'event:other'));
    await Promise.all([spinner, other]);
    expect(events).toEqual(['other:done', 'spin:stopped']);
  });

  it('where Lua cannot yield (a sort comparator) the loop keeps the state, as before', async () => {
    const { run, track, events } = runtime({ cpuLimitMs: 300 });
    const spinner = track('spin', run('table.sort({3, 2, 1}, function(a, b) while true do end end)', 'event:spin'));
    const other = track('other', run('return 1', 'event:other'));
    await Promise.all([spinner, other]);
    expect(events).toEqual(['spin:stopped', 'other:done']);
  });

  it('slice pauses count toward the CPU guard; a real wait resets it', async () => {
    // Parked every 10k instructions: still stopped once its running time passes the limit.
    const { run, track, events } = runtime({ cpuLimitMs: 200, sliceMs: 0 });
    await track('spin', run('while true do end'));
    expect(events).toEqual(['spin:stopped']);
    // Five 80 ms bursts, each followed by a host wait: never 200 ms without waiting.
    expect(await run(`
      for i = 1, 5 do
        local t = now()
        while now() - t < 80 do end
        sleep(0)
      end
      return 'finished'
    `)).toBe('finished');
  });

  it('a handler that caught an error with pcall first is still sliced and stopped', async () => {
    const { run, track, events } = runtime({ cpuLimitMs: 1000 });
    const spinner = track('spin', run('pcall(error, "caught") while true do end', 'event:spin'));
    const other = track('other', run('sleep(1); return 1', 'event:other'));
    await Promise.all([spinner, other]);
    expect(events).toEqual(['other:done', 'spin:stopped']);
  });

  it('user coroutines see the same yields and results with slicing on every hook', async () => {
    const program = `
      local gen = coroutine.wrap(function()
        for i = 1, 200 do
          local s = 0
          for j = 1, 2000 do s = s + (i * j) % 7 end
          coroutine.yield(s)
        end
      end)
      local total, count = 0, 0
      for i = 1, 200 do
        local ok, v = pcall(gen)
        total = total + v; count = count + 1
      end
      local co = coroutine.create(function(a) local b = coroutine.yield(a + 1); for k = 1, 50000 do end; return b * 2 end)
      local r1 = { coroutine.resume(co, 1) }
      local r2 = { coroutine.resume(co, 10) }
      return { total = total, count = count, r1 = r1, r2 = r2, status = coroutine.status(co) }
    `;
    const sliced = await runtime({ sliceMs: 0 }).run(program);
    const unsliced = await runtime({ sliceMs: Infinity }).run(program);
    expect(sliced).toEqual(unsliced);
    expect(sliced).toMatchObject({ count: 200, r1: [true, 2], r2: [true, 20], status: 'dead' });
  });
});
