/**
 * The JS↔Lua boundary with exact integers: safe JS integers cross as Lua
 * integers, Lua integers come back as exact JS numbers, and KumoMTA's serde
 * rules hold (JSON 3 → integer, 3.0 → float). Ends with a policy run through
 * the test harness.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua } from '../helpers/lua.ts';
import { pushJson, pushNumber, toJson } from '../../src/lua/marshal.ts';
import { lua } from '../../src/lua/fengari.ts';
import { JsonFloat } from '../../src/util/json.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const t = newLua();

describe('JS → Lua', () => {
  it('pushNumber makes safe integers Lua integers and everything else floats', () => {
    const L = t.ctx.runtime.L;
    const cases: Array<[number, string]> = [
      [1722790000000, 'integer'],
      [Number.MAX_SAFE_INTEGER, 'integer'],
      [-Number.MAX_SAFE_INTEGER, 'integer'],
      [2 ** 53, 'float'],
      [1.5, 'float'],
    ];
    for (const [n, type] of cases) {
      pushNumber(L, n);
      expect([n, lua.lua_isinteger(L, -1) ? 'integer' : 'float']).toEqual([n, type]);
      expect(lua.lua_tonumber(L, -1)).toBe(n);
      lua.lua_pop(L, 1);
    }
  });
  it('lua_pushinteger refuses values it cannot hold exactly', () => {
    expect(() => lua.lua_pushinteger(t.ctx.runtime.L, 2 ** 53)).toThrow(/not an integer within ±\(2\^53 - 1\)/);
    expect(() => lua.lua_pushinteger(t.ctx.runtime.L, 1.5)).toThrow(/not an integer/);
  });
  it('pushJson keeps 3 an integer and 3.0 (JsonFloat) a float', () => {
    const L = t.ctx.runtime.L;
    pushJson(L, { big: 1722790000000, f: new JsonFloat(3) });
    lua.lua_getfield(L, -1, 'big');
    expect(lua.lua_isinteger(L, -1)).toBe(true);
    lua.lua_getfield(L, -2, 'f');
    expect(lua.lua_isinteger(L, -1)).toBe(false);
    lua.lua_pop(L, 3);
  });
});

describe('Lua → JS', () => {
  it('integers come back exact; integral floats stay floats up to 2^53', async () => {
    expect(await t.eval('return 1722790000 * 1000')).toBe(1722790000000);
    expect(await t.eval('return math.maxinteger')).toBe(9007199254740991);
    expect(await t.eval('return 2^40')).toEqual(new JsonFloat(1099511627776));
    const L = t.ctx.runtime.L;
    lua.lua_pushnumber(L, 2 ** 60);
    expect(toJson(L, -1)).toBe(2 ** 60); // beyond the VM's integers: stands for KumoMTA's 64-bit integer
    lua.lua_pop(L, 1);
  });
  it('kumo.serde round-trips large integers and keeps floats floats', async () => {
    expect(await t.eval(`return kumo.serde.json_encode({ ms = 1722790000 * 1000, f = 2^40, small = 3, flt = 3.0 })`)).toBe(
      '{"ms":1722790000000,"f":1099511627776.0,"small":3,"flt":3.0}',
    );
    expect(await t.eval(`local v = kumo.serde.json_parse('{"ms":1722790000000}').ms return math.type(v) .. ' ' .. tostring(v + 1)`)).toBe('integer 1722790000001');
    expect(await t.eval(`return math.type(kumo.serde.json_parse('3.0'))`)).toBe('float');
  });
  it('kumo.time gives millisecond timestamps as integers', async () => {
    expect(await t.eval(`local t = kumo.time.from_unix_timestamp(1722790000) return math.type(t.unix_timestamp_millis) .. ' ' .. t.unix_timestamp_millis`)).toBe(
      'integer 1722790000000',
    );
  });
});

describe('end to end: a policy in the test harness', () => {
  it('computes os.time() * 1000 and sends it through kumo.serde.json_encode as exact integer text', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-vm54-'));
    const file = path.join(dir, 'init.lua');
    fs.writeFileSync(
      file,
      `local kumo = require 'kumo'
function stamp()
  local ms <const> = os.time() * 1000
  local closed = false
  do
    local guard <close> = setmetatable({}, { __close = function() closed = true end })
  end
  return kumo.serde.json_encode({ ms = ms, type = math.type(ms), closed = closed })
end
`,
    );
    const policy = await createPolicyTest({ policy: file, print: () => undefined });
    try {
      const seconds = (await policy.eval('return os.time()')) as number;
      expect(seconds).toBeGreaterThan(2 ** 31 / 1000);
      expect(await policy.eval('return stamp()')).toBe(`{"ms":${seconds * 1000},"type":"integer","closed":true}`);
    } finally {
      await policy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
