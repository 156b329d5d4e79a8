/**
 * The sandbox (src/lua/sandbox.ts, src/lua/loader.ts): what a policy can and
 * cannot reach. Issue 14 finding 2: binary chunks are refused everywhere.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';

const lua = (code: string) => newLua().eval(code);
const REFUSED = 'binary (precompiled) Lua chunks are refused by kumo-lua';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-sandbox-'));
}

describe('binary chunks (issue 14 finding 2)', () => {
  it('load(string.dump(f)) returns nil and a message naming the refusal', async () => {
    const r = await lua(`
      local f, err = load(string.dump(function() return 1 end), 'dumped')
      return { f == nil, err }
    `);
    expect(r).toEqual([true, `${REFUSED}; load the source text instead (dumped)`]);
  });

  it("load with mode 'b' is refused even for text; mode 't' and source text still work", async () => {
    const r = await lua(`
      local a, ea = load('return 1', 'x', 'b')
      local b = load('return 2', 'y', 't')
      local c = load(function() local s = 'return 3'; local done; return (function() if done then return nil end done = true return s end)() end)
      return { a == nil, ea, b(), load('return 4')() }
    `);
    expect(r).toEqual([true, `${REFUSED}; load the source text instead`, 2, 4]);
  });

  it('a reader function yielding bytecode is refused too', async () => {
    const r = await lua(`
      local code, given = string.dump(function() return 1 end), false
      local f, err = load(function() if given then return nil end given = true return code end)
      return { f == nil, err }
    `);
    expect(r).toEqual([true, expect.stringContaining('binary chunk')]);
  });

  it('loadfile, dofile and require refuse a precompiled file', async () => {
    const dir = tmpDir();
    const t = newLua({ luaPaths: [dir] });
    const file = path.join(dir, 'compiled.lua');
    await t.eval(`local f = assert(io.open(${JSON.stringify(file)}, 'w')) f:write(string.dump(function() return 1 end)) f:close()`);
    const r = await t.eval(`
      local f, err = loadfile(${JSON.stringify(file)})
      local ok, derr = pcall(dofile, ${JSON.stringify(file)})
      return { f == nil, err, ok, derr }
    `);
    expect(r).toEqual([true, `${REFUSED}; load the source text instead (${file})`, false, `${REFUSED}; load the source text instead (${file})`]);
    const msg = await errorOf(t.eval(`require 'compiled'`));
    expect(msg).toContain(`error loading module 'compiled' from file '${file}'`);
    expect(msg).toContain(REFUSED);
  });

  it('300 mutated chunks: every one is refused inside pcall, none escapes', async () => {
    const r = await lua(`
      local base = string.dump(function(a) local t = {} for i = 1, 10 do t[i] = a .. i end return t end)
      local refused, seed = 0, 7
      for n = 1, 300 do
        seed = (seed * 48271) % 2147483647 -- fits 53-bit integers (Lua 5.4 semantics on our VM)
        local pos = 1 + seed % #base
        local mutated = base:sub(1, pos - 1) .. string.char((base:byte(pos) + 1 + n) % 256) .. base:sub(pos + 1)
        local ok, f = pcall(load, mutated)
        if ok and f == nil then refused = refused + 1 end
      end
      return refused
    `);
    expect(r).toBe(300);
  });

  it('require of a source module still works, through the same searcher', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'plain.lua'), 'return { answer = 42 }');
    const t = newLua({ luaPaths: [dir] });
    expect(await t.eval(`return require('plain').answer`)).toBe(42);
  });
});

describe('no way to the JS host', () => {
  it('no package.loadlib, no js/fengari globals, no JS searchers', async () => {
    const r = await lua(`return { type(package.loadlib), type(js), type(fengari), type(debug), #package.searchers, package.cpath, package.jspath }`);
    expect(r).toEqual(['nil', 'nil', 'nil', 'nil', 3, '', '']);
  });
});
