import { describe, expect, it } from 'vitest';
import { LuaRuntime } from '../../src/lua/runtime.ts';
import { lua, type LuaState } from '../../src/lua/fengari.ts';
import { asyncFunction } from '../../src/lua/host-function.ts';
import { toJson } from '../../src/lua/marshal.ts';
import { LuaError } from '../../src/lua/errors.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { argString } from '../../src/lua/args.ts';

/** A runtime with `sleep(ms)` (async, returns ms), `fail(msg)` (async, rejects) and `boom()` (sync JS throw). */
function runtimeWithHostFunctions(options: ConstructorParameters<typeof LuaRuntime>[0] = {}) {
  const rt = new LuaRuntime({ print: () => undefined, ...options });
  const L = rt.L;
  const define = (name: string, fn: (L: LuaState) => number) => {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setglobal(L, keyBytes(name));
  };
  define('sleep', asyncFunction('sleep', async (Ls) => {
    const ms = Number(lua.lua_tointeger(Ls, 1));
    await new Promise((r) => setTimeout(r, ms));
    return (Lr) => (lua.lua_pushinteger(Lr, ms), 1);
  }));
  define('fail', asyncFunction('fail', async (Ls) => {
    const msg = lua.lua_tojsstring(Ls, 1);
    await new Promise((r) => setTimeout(r, 1));
    throw new Error(msg);
  }));
  define('needs_string', asyncFunction('needs_string', async (Ls) => {
    const text = argString(Ls, 1);
    await new Promise((r) => setTimeout(r, 1));
    return (Lr) => (lua.lua_pushinteger(Lr, text.length), 1);
  }));
  define('boom', () => {
    throw new TypeError('sync JS throw');
  });
  const run = (code: string) => rt.evaluate(code, (co, n) => (n > 0 ? toJson(co, 1) : null), 'test');
  return { rt, run };
}

describe('coroutine bridge', () => {
  it('an argument error raised before the first await reads as its message, under pcall too', async () => {
    const { run } = runtimeWithHostFunctions();
    expect(await run("return needs_string('abc')")).toBe(3);
    const msg = (await run('return select(2, pcall(needs_string, nil))')) as string;
    expect(msg).toMatch(/bad argument #1 to 'needs_string' \(error converting Lua nil to String\)/);
    expect(await run("local ok = pcall(needs_string, {}); return needs_string('four')")).toBe(4);
  });

  it('suspends Lua code on async host calls, including under pcall and after a yield', async () => {
    const { run } = runtimeWithHostFunctions();
    expect(await run('return sleep(5) + sleep(6)')).toBe(11);
    expect(await run('local ok, v = pcall(sleep, 7); return {ok, v}')).toEqual([true, 7]);
    expect(await run('local ok, e = pcall(function() sleep(1); error("after yield", 0) end); return {ok, e}')).toEqual([false, 'after yield']);
    expect(await run('local ok, e = pcall(fail, "async failure"); return {ok, e}')).toEqual([false, 'async failure']);
    expect(await run('return select(2, xpcall(function() sleep(1); error("x") end, function(m) return "handled: " .. m end))')).toMatch(/^handled: test:1: x$/);
  });

  it('yields inside method chains, metamethods and iterators', async () => {
    const { run } = runtimeWithHostFunctions();
    const result = await run(`
      local obj = {}
      function obj:step(n) sleep(1); self.total = (self.total or 0) + n; return self end
      obj:step(1):step(2):step(3)
      local proxy = setmetatable({}, { __index = function(_, k) return sleep(2) end, __add = function(a, b) return sleep(3) end })
      local sum = 0
      local function iter(_, i) if i < 3 then sleep(1); return i + 1 end end
      for i in iter, nil, 0 do sum = sum + i end
      return { chain = obj.total, index = proxy.anything, add = proxy + 1, iter = sum }
    `);
    expect(result).toEqual({ chain: 6, index: 2, add: 3, iter: 6 });
  });

  it('forwards host waits out of user coroutines (resume and wrap)', async () => {
    const { run } = runtimeWithHostFunctions();
    const result = await run(`
      local gen = coroutine.wrap(function(x)
        local y = coroutine.yield(x + sleep(3))
        return y * 2
      end)
      local co = coroutine.create(function() return sleep(4), "done" end)
      local ok, a, b = coroutine.resume(co)
      local dead_ok, dead_err = coroutine.resume(co)
      return { first = gen(1), second = gen(21), ok = ok, a = a, b = b, dead_ok = dead_ok, dead_err = dead_err }
    `);
    expect(result).toEqual({ first: 4, second: 42, ok: true, a: 4, b: 'done', dead_ok: false, dead_err: 'cannot resume dead coroutine' });
  });

  it('reports where Lua cannot suspend with a catchable error', async () => {
    const { run } = runtimeWithHostFunctions();
    const result = await run('local ok, e = pcall(table.sort, {3, 1, 2}, function(a, b) return sleep(1) > 0 end); return {ok, e}');
    expect(result).toEqual([false, expect.stringContaining('cannot be called here')]);
  });

  it('interleaves 1000 concurrent handlers on one state', async () => {
    const { rt } = runtimeWithHostFunctions();
    const runs = Array.from({ length: 1000 }, (_, i) =>
      rt.evaluate(`local s = 0; for j = 1, 3 do s = s + sleep(${1 + (i % 5)}) end; local ok = pcall(fail, 'x'); return s + ${i}`, (co) => Number(lua.lua_tointeger(co, 1)), `h${i}`),
    );
    const results = await Promise.all(runs);
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => 3 * (1 + (i % 5)) + i));
    expect(lua.lua_gettop(rt.L)).toBe(0);
  });
});

describe('errors across the boundary', () => {
  it('turns JS exceptions into catchable Lua errors', async () => {
    const { run } = runtimeWithHostFunctions();
    expect(await run('local ok, e = pcall(boom); return {ok, e}')).toEqual([false, 'sync JS throw']);
  });

  it('gives escaping Lua errors the message and a traceback with file:line', async () => {
    const { rt } = runtimeWithHostFunctions();
    const err = await rt.runSource('local function inner(t)\n  return t.x.y\nend\ninner({})\n', '@/policies/init.lua').catch((e) => e);
    expect(err).toBeInstanceOf(LuaError);
    expect(err.message).toBe("/policies/init.lua:2: attempt to index a nil value (field 'x')");
    expect(err.luaTraceback).toContain('/policies/init.lua:2: in');
    expect(err.luaTraceback).toContain('/policies/init.lua:4: in');
  });

  it('keeps table error values intact across yields and pcall', async () => {
    const { run } = runtimeWithHostFunctions();
    expect(await run('local ok, e = pcall(function() sleep(1); error({code = 451}) end); return e')).toEqual({ code: 451 });
  });

  it('reports syntax errors with file:line', async () => {
    const { rt } = runtimeWithHostFunctions();
    await expect(rt.runSource('local x = = 1', '@/p/init.lua')).rejects.toThrow("/p/init.lua:1: unexpected symbol near '='");
  });

  it('stops a handler stuck in an infinite loop', async () => {
    const { rt } = runtimeWithHostFunctions({ cpuLimitMs: 100 });
    await expect(rt.evaluate('while true do end', () => 0, 'event:spin')).rejects.toThrow(/ran for more than 100ms without waiting/);
    // The state stays usable afterwards.
    expect(await rt.evaluate('return 1 + 1', (co) => Number(lua.lua_tointeger(co, 1)))).toBe(2);
  });
});

describe('sandbox', () => {
  it('fills Fengari gaps and removes escape hatches', async () => {
    const { run } = runtimeWithHostFunctions();
    const result = await run(`
      return {
        utc = os.date('!%Y-%m-%dT%H:%M:%SZ', 86400 + 3661),
        gc = collectgarbage(),
        debug = type(debug), exit = type(os.exit), execute = type(os.execute),
        getenv = type(os.getenv), js = type(package.searchers[3]),
        jspath = package.jspath,
      }
    `);
    expect(result).toEqual({ utc: '1970-01-02T01:01:01Z', gc: 0, debug: 'nil', exit: 'function', execute: 'function', getenv: 'function', js: 'function', jspath: '' });
  });

  it('reads files with io.open and io.lines', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-io-')), 'data.txt');
    fs.writeFileSync(file, 'first\nsecond\n');
    const { run } = runtimeWithHostFunctions();
    const result = await run(`
      local f = assert(io.open(${JSON.stringify(file)}))
      local all = f:read('a')
      f:close()
      local lines = {}
      for line in io.lines(${JSON.stringify(file)}) do lines[#lines + 1] = line end
      local missing, err = io.open('/nonexistent/file')
      return { all = all, lines = lines, missing = missing == nil, err = err }
    `);
    expect(result).toEqual({ all: 'first\nsecond\n', lines: ['first', 'second'], missing: true, err: '/nonexistent/file: No such file or directory' });
  });
});
