/**
 * Lua 5.4 syntax on the vendored Fengari fork: <const> and <close> locals and
 * the to-be-closed mechanism (reference manual §3.3.7–3.3.8), coroutine.close
 * (§6.2). Expected values follow the manual's rules.
 */
import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

const t = newLua();
/** A chunk prelude: `closer(name)` returns a value whose __close appends "name:err" to `log`. */
const CLOSER = `local log = {}
local function closer(name)
  return setmetatable({}, { __close = function(_, err) log[#log + 1] = name .. ':' .. tostring(err) end })
end
`;
const run = (code: string) => t.eval(CLOSER + code + '\nreturn table.concat(log, " ")');

describe('<const>', () => {
  it('local x <const> = 1 works and reads like any local', async () => {
    expect(await t.eval('local x <const> = 1 return x + 1')).toBe(2);
    expect(await t.eval('local a, b <const>, c = 1, 2, 3 return a + b + c')).toBe(6);
  });
  it('refuses assignment at compile time, also from a closure', async () => {
    expect(await t.eval(`return select(2, load('local x <const> = 1; x = 2'))`)).toMatch(/attempt to assign to const variable 'x'/);
    expect(await t.eval(`return select(2, load('local x <const> = 1; return function() x = 2 end'))`)).toMatch(/attempt to assign to const variable 'x'/);
    expect(await t.eval(`return select(2, load('local x <close> = nil; x = 2'))`)).toMatch(/attempt to assign to const variable 'x'/);
  });
  it('rejects unknown attributes and two <close> in one list', async () => {
    expect(await t.eval(`return select(2, load('local x <foo> = 1'))`)).toMatch(/unknown attribute 'foo'/);
    expect(await t.eval(`return select(2, load('local a <close>, b <close> = nil, nil'))`)).toMatch(/multiple to-be-closed variables in local list/);
  });
});

describe('<close>', () => {
  it('closes at the end of the block, innermost first, with a nil error', async () => {
    expect(await run(`do local a <close> = closer('a') local b <close> = closer('b') end`)).toBe('b:nil a:nil');
  });
  it('closes on error with the error object, and the error still propagates', async () => {
    expect(await run(`local ok, e = pcall(function() local x <close> = closer('x') error('boom', 0) end) log[#log + 1] = tostring(ok) .. ',' .. e`)).toBe(
      'x:boom false,boom',
    );
  });
  it('closes on break, goto and return (values returned intact)', async () => {
    expect(await run(`for i = 1, 3 do local y <close> = closer('y' .. i) if i == 2 then break end end`)).toBe('y1:nil y2:nil');
    expect(await run(`do local w <close> = closer('w') goto out end ::out::`)).toBe('w:nil');
    expect(await run(`local function f() local z <close> = closer('z') return 1, 2, 3 end local r = table.concat({ f() }, ',') log[#log + 1] = r`)).toBe('z:nil 1,2,3');
    expect(await run(`local function g() return 7 end local function f() local z <close> = closer('z') return g() end local r = tostring(f()) log[#log + 1] = r`)).toBe(
      'z:nil 7',
    );
  });
  it('ignores nil and false, refuses values without __close', async () => {
    expect(await t.eval('local a <close> = nil local b <close> = false return "ok"')).toBe('ok');
    expect(await errorOf(t.eval('local x <close> = 42'))).toMatch(/variable 'x' got a non-closable value/);
  });
  it('an error inside __close replaces the original error', async () => {
    expect(
      await t.eval(`return select(2, pcall(function()
        local a <close> = setmetatable({}, { __close = function() error('in close', 0) end })
        error('original', 0)
      end))`),
    ).toBe('in close');
  });
  it('closes when an error escapes a policy handler', async () => {
    const p = newLua();
    await p.load(`local kumo = require 'kumo'
closed = {}
kumo.on('fails', function()
  local x <close> = setmetatable({}, { __close = function(_, e) closed[#closed + 1] = tostring(e) end })
  error('handler failed', 0)
end)`);
    expect(await errorOf(p.ctx.events.fire('fails'))).toBe('handler failed');
    expect(await p.eval('return closed[1]')).toBe('handler failed');
  });
});

describe('coroutine.close', () => {
  it('closes a suspended coroutine\'s pending variables and kills it', async () => {
    expect(await run(`local co = coroutine.create(function() local q <close> = closer('q') coroutine.yield() end)
coroutine.resume(co)
local r = tostring(coroutine.close(co)) .. ',' .. coroutine.status(co) log[#log + 1] = r`)).toBe('q:nil true,dead');
  });
  it('returns false and the error of a coroutine that died by error', async () => {
    expect(await t.eval(`local co = coroutine.create(error) coroutine.resume(co, 100) local ok, e = coroutine.close(co) return tostring(ok) .. ',' .. e`)).toBe('false,100');
  });
  it('refuses to close the running coroutine', async () => {
    expect(await errorOf(t.eval(`local co co = coroutine.create(function() return coroutine.close(co) end) local ok, e = coroutine.resume(co) error(e, 0)`))).toMatch(
      /cannot close a running coroutine/,
    );
  });
  it('coroutine.wrap closes a coroutine that fails', async () => {
    expect(await run(`local f = coroutine.wrap(function() local v <close> = closer('v') error('werr', 0) end) pcall(f)`)).toBe('v:werr');
  });
});
