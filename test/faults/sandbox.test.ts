/**
 * Fault suite (d): the sandbox. From Lua there is no way to the JavaScript
 * host (no interop library, no JS module loading, no package.loadlib, no C
 * modules) and no bytecode; files and processes only through io/os.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';

function dirWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-faults-sandbox-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('fault suite (d): the sandbox', () => {
  it('no interop globals or libraries', async () => {
    const r = await newLua().eval(`
      local found = {}
      for _, name in ipairs({ 'js', 'fengari', 'debug', 'interop', 'global', 'window', 'process', 'require_js' }) do
        if rawget(_G, name) ~= nil then found[#found + 1] = name end
      end
      local ok_js = pcall(require, 'js')
      local ok_fengari = pcall(require, 'fengari-interop')
      return { #found, ok_js, ok_fengari, package.loaded.js == nil }
    `);
    expect(r).toEqual([0, false, false, true]);
  });

  it('a .js or native module next to the policy is never loaded by require', async () => {
    const marker = path.join(os.tmpdir(), `kumo-lua-sandbox-marker-${process.pid}`);
    const dir = dirWith({
      'evil.js': `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = {};`,
      'evil.so': 'not really a library',
      'evil.node': 'not really a library',
    });
    const t = newLua({ luaPaths: [dir] });
    const msg = await errorOf(t.eval(`require 'evil'`));
    expect(msg).toContain("module 'evil' not found");
    expect(fs.existsSync(marker)).toBe(false);
    expect(await t.eval(`return { package.cpath, package.jspath, package.loadlib == nil, #package.searchers }`)).toEqual(['', '', true, 3]);
  });

  it('bytecode is refused on every path: load, loadfile, dofile, require, and a string.dump round trip', async () => {
    const t = newLua();
    const r = await t.eval(`
      local dumped = string.dump(function() return 'ran' end)
      local results = {}
      results[1] = select(2, load(dumped))
      results[2] = select(2, load(dumped, 'x', 'bt'))
      results[3] = select(2, load(dumped, 'x', 'b'))
      return results
    `);
    expect(r).toEqual(Array(3).fill(expect.stringContaining('binary (precompiled) Lua chunks are refused')));
  });

  it('the metatables of strings and userdata give no handle on the host', async () => {
    const r = await newLua().eval(`
      local mt = getmetatable('')
      local keys = {}
      for k in pairs(mt) do keys[#keys + 1] = k end
      table.sort(keys)
      local msg = kumo.make_message('a@x.example', 'b@y.example', 'Subject: x\\r\\n\\r\\nx')
      local umt = getmetatable(msg)
      return { keys, mt.__index == string, type(umt) }
    `);
    expect(r).toEqual([['__index'], true, expect.stringMatching(/^(table|string|boolean)$/)]);
  });

  it('files and processes are reachable only through io and os, and strict mode closes those', async () => {
    process.env.KUMO_LUA_STRICT = '1';
    try {
      const t = newLua();
      for (const call of [`io.open('/etc/passwd')`, `io.popen('id')`, `os.execute('id')`, `io.lines('/etc/passwd')`, `os.remove('/tmp/x')`]) {
        expect(await errorOf(t.eval(call))).toContain("turned off by kumo-lua's strict mode");
      }
    } finally {
      delete process.env.KUMO_LUA_STRICT;
    }
  });
});
