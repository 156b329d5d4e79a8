/**
 * The io library (src/lua/stdlib-io.ts) as KumoMTA's states have it
 * (lua-api-more.md §10): real files, default input/output, tmpfile, popen.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newLua, errorOf } from '../helpers/lua.ts';

const lua = (code: string) => newLua().eval(code);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-lua-io-'));
const q = JSON.stringify;

describe('files', () => {
  it('write, seek, read formats, lines with formats, append, r+', async () => {
    const file = path.join(tmp(), 'f.txt');
    const r = await lua(`
      local f = assert(io.open(${q(file)}, 'w'))
      assert(f:write('first\\n', 42, ' 3.5\\n', 'last') == f)
      f:close()
      f = assert(io.open(${q(file)}, 'r'))
      local a = { f:read('l', 'n', 'n', 'L', 'a', 'a', 'l') }
      local size = f:seek('end')
      f:seek('set', 2)
      local two = f:read(3)
      f:close()
      local g = assert(io.open(${q(file)}, 'a'))
      g:write('\\nappended')
      g:close()
      local lines = {}
      for l in io.lines(${q(file)}) do lines[#lines + 1] = l end
      local h = assert(io.open(${q(file)}, 'r+'))
      h:write('FIRST')
      h:seek('set')
      local patched = h:read('l')
      h:close()
      assert(io.type(42) == nil)
      return { a, size, two, lines, patched, io.type(h), io.type(io.stdout) }
    `);
    expect(r).toEqual([
      ['first', 42, 3.5, '\n', 'last', ''],
      17,
      'rst',
      ['first', '42 3.5', 'last', 'appended'],
      'FIRST',
      'closed file',
      'file',
    ]);
  });

  it('read(0) is "" before the end and nil at it; lines("L") keeps line ends', async () => {
    const file = path.join(tmp(), 'g.txt');
    fs.writeFileSync(file, 'a\nb\n');
    const r = await lua(`
      local f = io.open(${q(file)})
      local before = f:read(0)
      f:read('a')
      local after = f:read(0)
      f:close()
      local t = {}
      for l in io.lines(${q(file)}, 'L') do t[#t + 1] = l end
      return { before, after == nil, t }
    `);
    expect(r).toEqual(['', true, ['a\n', 'b\n']]);
  });

  it('failures: io.open returns nil, message, errno; io.lines raises; closed files say so', async () => {
    const r = await lua(`
      local f, err, code = io.open('/nonexistent/x')
      local ok, lerr = pcall(io.lines, '/nonexistent/x')
      local g = io.tmpfile()
      g:close()
      local ok2, cerr = pcall(g.read, g)
      local ok3, merr = pcall(io.open, '/tmp/x', 'rw')
      return { f == nil, err, code, lerr, cerr, merr }
    `);
    expect(r).toEqual([true, '/nonexistent/x: No such file or directory', 2, '/nonexistent/x: No such file or directory', 'attempt to use a closed file', "bad argument #2 to 'open' (invalid mode 'rw')"]);
  });

  it('io.output / io.write / io.input / io.read / io.close on a named file', async () => {
    const file = path.join(tmp(), 'out.txt');
    const r = await lua(`
      local out = io.output(${q(file)})
      assert(io.write('x', 1, '\\n') == out)
      io.close()
      io.input(${q(file)})
      local line = io.read()
      io.input():close()
      return { line, io.type(out) }
    `);
    expect(r).toEqual(['x1', 'closed file']);
    expect(fs.readFileSync(file, 'utf8')).toBe('x1\n');
  });

  it('io.tmpfile is a private read/write file', async () => {
    expect(await lua(`local f = io.tmpfile() f:write('hello') f:seek('set') local s = f:read('a') f:close() return s`)).toBe('hello');
  });
});

describe('io.popen', () => {
  it("reads a command's output; close gives true, 'exit', 0", async () => {
    expect(await lua(`return io.popen('echo hi'):read('l')`)).toBe('hi');
    expect(await lua(`local p = io.popen('printf "a\\\\nb"') local t = {} for l in p:lines() do t[#t+1] = l end return { t, p:close() }`)).toEqual([['a', 'b'], true, 'exit', 0]);
    expect(await lua(`local p = io.popen('exit 3') return { p:close() }`)).toEqual([null, 'exit', 3]);
    expect(await lua(`local p = io.popen('kill -9 $$') return { p:close() }`)).toEqual([null, 'signal', 9]);
  });

  it("mode 'w' feeds what is written to the command's stdin", async () => {
    const file = path.join(tmp(), 'piped.txt');
    const r = await lua(`local p = io.popen('cat > ${file}', 'w') p:write('through ', 'the pipe') return { p:close() }`);
    expect(r).toEqual([true, 'exit', 0]);
    expect(fs.readFileSync(file, 'utf8')).toBe('through the pipe');
  });
});

describe('os', () => {
  it('tmpname creates an empty file under /tmp; remove and rename work and fail like C', async () => {
    const r = (await lua(`
      local name = os.tmpname()
      local f = assert(io.open(name))
      local content = f:read('a')
      f:close()
      local renamed = name .. '.moved'
      local ok = os.rename(name, renamed)
      local gone, gerr = io.open(name)
      local removed = os.remove(renamed)
      local again, rerr, rcode = os.remove(renamed)
      return { name, content, ok, gone == nil, removed, again == nil, rerr == renamed .. ': No such file or directory', rcode }
    `)) as unknown[];
    expect(r[0]).toMatch(/^\/tmp\/lua_[A-Za-z0-9]{6}$/);
    expect(r.slice(1)).toEqual(['', true, true, true, true, true, 2]);
  });

  it("os.execute returns true|nil, 'exit'|'signal', code; os.getenv reads the environment", async () => {
    process.env.KUMO_LUA_TEST_VAR = 'v1';
    expect(await lua(`return { os.execute(), { os.execute('true') }, { os.execute('exit 7') }, os.getenv('KUMO_LUA_TEST_VAR'), os.getenv('KUMO_LUA_NOPE') == nil }`)).toEqual([
      true,
      [true, 'exit', 0],
      [null, 'exit', 7],
      'v1',
      true,
    ]);
  });

  it('os.exit ends the process with the status (in a child)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `import { newLua } from ${q(path.resolve('test/helpers/lua.ts'))}; await newLua().eval("os.exit(5)");`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(5);
  }, 30_000);
});

describe('strict mode (--strict / KUMO_LUA_STRICT=1)', () => {
  it('turns file and process access off with a message naming it; the rest stays', async () => {
    process.env.KUMO_LUA_STRICT = '1';
    try {
      const t = newLua();
      expect(await errorOf(t.eval(`io.popen('echo hi')`))).toContain("io.popen is turned off by kumo-lua's strict mode (--strict / KUMO_LUA_STRICT=1)");
      expect(await errorOf(t.eval(`io.open('/etc/hostname')`))).toContain('io.open is turned off');
      expect(await errorOf(t.eval(`os.execute('true')`))).toContain('os.execute is turned off');
      expect(await t.eval(`return { type(os.time()), os.getenv('HOME') ~= nil, require('policy-extras.policy_utils') ~= nil }`)).toEqual(['number', true, true]);
    } finally {
      delete process.env.KUMO_LUA_STRICT;
    }
  });
});
