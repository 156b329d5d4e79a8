/**
 * json-writer.ts (json_encode's direct path) writes exactly the text of the
 * general path (serde tree + writeJson), and gives up — before running any
 * Lua — where only the general path can answer.
 */
import { describe, expect, it } from 'vitest';
import { compactJsonOf } from '../../src/lua/json-writer.ts';
import { hostIndex } from '../../src/lua/host-values.ts';
import { luaToSerde } from '../../src/kumo/support/lua-value.ts';
import { writeJson } from '../../src/kumo/support/json-text.ts';
import { LuaRuntime } from '../../src/lua/runtime.ts';
import { newLua } from '../helpers/lua.ts';
import { lua } from '../../src/lua/fengari.ts';
import { LUA_NULL } from '../../src/lua/marshal.ts';
import { keyBytes } from '../../src/lua/strings.ts';

const rt = new LuaRuntime({ print: () => undefined });

/** [direct text or undefined, general-path text] for the value `code` returns. */
function both(code: string): Promise<[string | undefined, string]> {
  return rt.evaluate(code, (co) => [compactJsonOf(hostIndex(co, 1)), writeJson(luaToSerde(co, 1, { materialize: true }), false)], 'json-writer') as Promise<
    [string | undefined, string]
  >;
}

const CASES: Array<[string, string]> = [
  ['return {1, 1.0, 10/2, 2.5, 3 // 1, -0.0, 0.0, 1e16, 1e15, 2^53, 2^63, 2^64, 1e-7, 0.1}', '[1,1.0,5.0,2.5,3,-0.0,0.0,10000000000000000,1000000000000000.0,9007199254740992,9.223372036854776e+18,1.8446744073709552e+19,1e-7,0.1]'],
  ['return {2^31 + 1, -(2^31) - 1, math.maxinteger, math.mininteger, 3000000000}', '[2147483649.0,-2147483649.0,9007199254740991,-9007199254740991,3000000000]'],
  ['return {0/0, 1/0, -1/0}', '[null,null,null]'],
  ['return {1, nil, 3}', '[1,null,3]'],
  ["return {1, 2, x = 3}", '[1,2]'],
  ['return {}', '{}'],
  ['return {a = {}, b = {{}, {}}}', ''],
  ["return {[1.5] = 'b', [true] = 'c', [false] = 'd', [1e-6] = 'e'}", '{"1.5":"b","true":"c","false":"d","1e-6":"e"}'],
  ["return {[5] = 'a'}", ''],
  ["return {dq = 'say \"hi\"', bs = 'a\\\\b'}", '{"dq":"say \\"hi\\"","bs":"a\\\\b"}'],
  ["return {s = 'h\\u{e9}llo \\u{1F600}', ['cl\\u{e9}'] = 1}", ''],
  ["return {bad = '\\255\\0', also = 'a\\200'}", ''],
  ["return {q = 'say \"hi\"\\\\ \\n\\t\\r\\b\\f\\0\\1\\31\\127 /'}", ''],
  ["return {long = string.rep('x', 70) .. '\\n' .. string.rep('y', 10), longer = string.rep('z', 100), wide = string.rep('\\u{e9}', 50)}", ''],
  ["local t = {} t.x = 1 t.y = 2 t.x = nil t.z = 3 return t", '{"y":2,"z":3}'],
  ["return {['1'] = 'string one', [2] = 'int'}", ''],
  ['return {kumo.serde.json_parse("[]"), kumo.serde.json_parse("{\\"a\\":[1,[],{}]}")}', '[{},{"a":[1,{},{}]}]'],
  ['return 42', '42'],
  ["return 'top'", '"top"'],
  ['return true', 'true'],
  ['return nil', 'null'],
  ['return {x = NULL, y = {NULL, 1}}', '{"x":null,"y":[null,1]}'],
];

describe('compactJsonOf', () => {
  it('writes what the general path writes', async () => {
    const r = newLua();
    lua.lua_pushlightuserdata(r.ctx.runtime.L, LUA_NULL);
    lua.lua_setglobal(r.ctx.runtime.L, keyBytes('NULL'));
    for (const [code, expected] of CASES) {
      const [direct, general] = (await r.ctx.runtime.evaluate(
        `local kumo = require 'kumo'\n${code}`,
        (co) => [compactJsonOf(hostIndex(co, 1)), writeJson(luaToSerde(co, 1, { materialize: true }), false)],
        'json-writer',
      )) as [string | undefined, string];
      expect(direct, code).toBe(general);
      if (expected) expect(direct, code).toBe(expected);
    }
  });

  it('gives up on userdata, functions, odd keys and cycles', async () => {
    for (const code of [
      'return {f = print}',
      'return {t = coroutine.create(print)}',
      "return {['\\255'] = 1}",
      'return {[print] = 1}',
      'local t = {} t.self = t return t',
    ]) {
      const direct = await rt.evaluate(code, (co) => compactJsonOf(hostIndex(co, 1)) ?? 'gave up', 'json-writer');
      expect(direct, code).toBe('gave up');
    }
  });

  it('handles nesting up to its depth limit and gives up beyond it', async () => {
    expect((await both("local t = 1 for i = 1, 99 do t = {t} end return t"))[0]).toBe('['.repeat(99) + '1' + ']'.repeat(99));
    expect((await both("local t = 1 for i = 1, 101 do t = {t} end return t"))[0]).toBeUndefined();
  });

  it('json_encode takes the general path where the direct one gives up (same errors, deep values)', async () => {
    const r = newLua();
    expect(await r.eval("return select(2, pcall(kumo.serde.json_encode, {f = print}))")).toMatch(/^cannot serialize <function>/);
    expect(await r.eval("local t = {} t.t = t return select(2, pcall(kumo.serde.json_encode, t))")).toMatch(/^recursive table detected/);
    expect(await r.eval('return { pcall(kumo.serde.json_encode) }')).toEqual([false, expect.stringMatching(/cannot serialize/)]);
    expect(await r.eval("local t = 1 for i = 1, 150 do t = {t} end return #kumo.serde.json_encode(t)")).toBe(301);
  });
});
