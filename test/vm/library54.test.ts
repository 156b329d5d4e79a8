/**
 * Lua 5.4 library behaviour a policy can observe, on the vendored Fengari
 * fork: string→number coercion, float formatting, warn, math.random argument
 * rules, collectgarbage with __gc and weak tables, and what stays closed.
 * Expected values follow the Lua 5.4 reference manual (§3.4.3, §6.1, §6.7).
 */
import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { MemoryLog } from '../../src/kumo/diagnostics.ts';

const t = newLua();
const typed = (expr: string) => t.eval(`local v = ${expr} return (math.type(v) or type(v)) .. ':' .. tostring(v)`);

describe('string coercion in arithmetic keeps integers', () => {
  it("'10' + 5 == 15 (an integer)", async () => {
    expect(await typed(`'10' + 5`)).toBe('integer:15');
    expect(await typed(`'3.0' + 1`)).toBe('float:4.0');
    expect(await typed(`'10' * '2'`)).toBe('integer:20');
    expect(await typed(`-'3'`)).toBe('integer:-3');
    expect(await typed(`'7' // 2`)).toBe('integer:3');
    expect(await typed(`'0x10' + 0`)).toBe('integer:16');
    expect(await typed(`'1e2' + 0`)).toBe('float:100.0');
  });
  it('names the operand that is not a number', async () => {
    expect(await errorOf(t.eval(`return 'abc' + 1`))).toMatch(/attempt to perform arithmetic on a string value/);
    expect(await errorOf(t.eval(`local s = '3' return s & 1`))).toMatch(/attempt to perform bitwise operation on a string value/);
  });
});

describe('float formatting (%.14g, as Lua 5.4 on Linux)', () => {
  it('tostring of floats', async () => {
    expect(await t.eval('return tostring(1e15)')).toBe('1e+15');
    expect(await t.eval('return tostring(-0.0)')).toBe('-0.0');
    expect(await t.eval('return tostring(1/0) .. " " .. tostring(-1/0)')).toBe('inf -inf');
    expect(await t.eval('return tostring(0/0)')).toBe('-nan');
    expect(await t.eval('return tostring(2^53)')).toBe('9.007199254741e+15');
    expect(await t.eval('return tostring(0.1) .. " " .. tostring(1/3) .. " " .. tostring(100.0) .. " " .. tostring(1e-5)')).toBe('0.1 0.33333333333333 100.0 1e-05');
    expect(await t.eval('return tostring(123456789012345.0)')).toBe('1.2345678901234e+14'.slice(0, 14) + '5e+14');
  });
  it('string.format float conversions', async () => {
    expect(await t.eval(`return string.format('%g|%g|%.3f|%e|%5.1f|%G', 1e15, 0.0001, 2/3, 12345.678, -2.26, 1e-10)`)).toBe(
      '1e+15|0.0001|0.667|1.234568e+04| -2.3|1E-10',
    );
    expect(await t.eval(`return string.format('%.14g', 2^63)`)).toBe('9.2233720368548e+18');
    expect(await t.eval(`return string.format('%f', 1e21)`)).toBe('1000000000000000000000.000000');
    expect(await t.eval(`return string.format('%q', 1/0) .. string.format('%q', 2^40)`)).toBe('1e99990x1p+40');
  });
});

describe('warn', () => {
  it('is off until "@on", joins its pieces, and goes to the log at warn level', async () => {
    const log = new MemoryLog();
    const p = newLua({ log });
    await p.eval(`warn('hidden') warn('@on') warn('disk ', 'low') warn('@off') warn('hidden too')`);
    expect(log.lines.map((e) => `${e.level}:${e.message}`)).toEqual(['warn:disk low']);
  });
  it('wants string arguments', async () => {
    expect(await errorOf(t.eval('warn()'))).toMatch(/bad argument #1 to 'warn' \(string expected, got no value\)/);
    expect(await errorOf(t.eval('warn("a", {})'))).toMatch(/bad argument #2 to 'warn' \(string expected, got table\)/);
  });
});

describe('math.random (5.4 argument rules)', () => {
  it('returns floats in [0,1), integers in [1,m] and [m,n], and any integer for 0', async () => {
    expect(await t.eval('local x = math.random() return math.type(x) == "float" and x >= 0 and x < 1')).toBe(true);
    expect(await t.eval('for i = 1, 200 do local x = math.random(3) if math.type(x) ~= "integer" or x < 1 or x > 3 then return false end end return true')).toBe(true);
    expect(await t.eval('for i = 1, 200 do local x = math.random(-2, 2) if x < -2 or x > 2 then return false end end return true')).toBe(true);
    expect(await typed('math.random(5, 5)')).toBe('integer:5');
    expect(await t.eval('local x = math.random(0) return math.type(x)')).toBe('integer');
    expect(await t.eval('for i = 1, 50 do local x = math.random(2^40, 2^40 + 10) if x < 2^40 or x > 2^40 + 10 then return false end end return true')).toBe(true);
    expect(await t.eval('local seen = {} for i = 1, 200 do seen[math.random(0) > 0] = true end return seen[true] and seen[false]')).toBe(true);
  });
  it('refuses an empty interval and extra arguments', async () => {
    expect(await errorOf(t.eval('return math.random(3, 1)'))).toMatch(/bad argument #1 to 'random' \(interval is empty\)/);
    expect(await errorOf(t.eval('return math.random(-1)'))).toMatch(/interval is empty/);
    expect(await errorOf(t.eval('return math.random(1, 2, 3)'))).toMatch(/wrong number of arguments/);
  });
  it('math.modf returns a float integral part; math.fmod and math.abs stay integers', async () => {
    expect(await t.eval('local i, f = math.modf(3.75) return math.type(i) .. tostring(i) .. " " .. tostring(f)')).toBe('float3.0 0.75');
    expect(await typed('math.fmod(-7, 3)')).toBe('integer:-1');
    expect(await typed('math.abs(math.mininteger)')).toBe('integer:9007199254740991');
  });
});

describe('collectgarbage, __gc and weak tables', () => {
  it('clears weak entries nothing else reaches and keeps the rest', async () => {
    expect(
      await t.eval(`
        local keep = {}
        local wk = setmetatable({}, { __mode = 'k' })
        local wv = setmetatable({}, { __mode = 'v' })
        wk[keep] = 1; wk[{}] = 2; wk.str = {}
        wv[1] = keep; wv[2] = {}; wv[3] = 'text'
        collectgarbage()
        local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
        return { count(wk), wk[keep], count(wv), wv[1] == keep, wv[3] }`),
    ).toEqual([2, 1, 2, true, 'text']);
  });
  it('treats weak keys as ephemerons (a value naming its own key does not keep it)', async () => {
    expect(await t.eval(`local e = setmetatable({}, { __mode = 'k' }) do local k = {} e[k] = { k } end collectgarbage() return next(e) == nil`)).toBe(true);
  });
  it('runs __gc of unreached objects on collectgarbage(), once', async () => {
    expect(
      await t.eval(`
        local n = 0
        do local x = setmetatable({}, { __gc = function() n = n + 1 end }) end
        local kept = setmetatable({}, { __gc = function() n = n + 100 end })
        collectgarbage() collectgarbage()
        return n`),
    ).toBe(1);
  });
  it('runs every pending __gc when the runtime closes', async () => {
    const p = newLua();
    await p.eval(`kept = setmetatable({}, { __gc = function() print('finalized') end })`);
    expect(p.printed).toEqual([]);
    p.ctx.runtime.close();
    expect(p.printed).toEqual(['finalized']);
  });
  it('answers the 5.4 options', async () => {
    expect(await t.eval(`return { collectgarbage('count') > 0, collectgarbage('step'), collectgarbage('isrunning'), collectgarbage('incremental'), collectgarbage() }`)).toEqual([
      true,
      true,
      true,
      'incremental',
      0,
    ]);
  });
});

describe('the sandbox stays closed', () => {
  it('package.loadlib never loads anything (the sandbox removes it)', async () => {
    expect(await t.eval(`return { package.loadlib == nil, select(2, pcall(function() return package.loadlib('/tmp/x.js', 'f') end)) ~= nil }`)).toEqual([true, true]);
  });
  it('no JS interop or debug library', async () => {
    expect(await t.eval('return { js == nil, fengari == nil, debug == nil }')).toEqual([true, true, true]);
  });
});
