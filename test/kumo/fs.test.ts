import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kumo-fs-'));
  mkdirSync(path.join(dir, 'conf/sub'), { recursive: true });
  writeFileSync(path.join(dir, 'conf/a.toml'), 'a');
  writeFileSync(path.join(dir, 'conf/sub/b.toml'), 'bb');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('kumo.fs (§3.11)', () => {
  it('open: unknown modes raise; w does not truncate; r+ creates (checklist 34)', async () => {
    const t = newLua();
    const f = path.join(dir, 'data.txt');
    writeFileSync(f, 'hello world');
    expect(await errorOf(t.eval(`kumo.fs.open('${f}', 'x')`))).toMatch(/unsupported file mode `x`/);
    await t.eval(`local h = kumo.fs.open('${f}', 'w') h:write('HELLO') h:close()`);
    expect(readFileSync(f, 'utf8')).toBe('HELLO world');
    await t.eval(`local h = kumo.fs.open('${dir}/new.txt', 'r+b') h:write('x') h:close()`);
    expect(readFileSync(path.join(dir, 'new.txt'), 'utf8')).toBe('x');
    expect(await errorOf(t.eval(`kumo.fs.open('${dir}/missing.txt')`))).toMatch(/missing\.txt/);
  });

  it('read, seek (either argument order), append', async () => {
    const t = newLua();
    const f = path.join(dir, 'data.txt');
    writeFileSync(f, '0123456789');
    expect(await t.eval(`
      local h = kumo.fs.open('${f}')
      local a = h:read(3)
      local pos = h:seek('cur', 2)
      local b = h:read()
      local eof = h:read(4)
      local at = h:seek(1, 'set')
      local c = h:read(2)
      local size = h:seek('end')
      h:close()
      return { a, pos, b, eof, at, c, size }
    `)).toEqual(['012', 5, '56789', '', 1, '12', 10]);
    await t.eval(`local h = kumo.fs.open('${f}', 'a') h:write('AB') h:flush() h:close()`);
    expect(readFileSync(f, 'utf8')).toBe('0123456789AB');
  });

  it('read_dir joins the given path; a missing dir raises', async () => {
    const t = newLua();
    const got = (await t.eval(`return kumo.fs.read_dir('${dir}/conf')`)) as string[];
    expect(got.sort()).toEqual([`${dir}/conf/a.toml`, `${dir}/conf/sub`]);
    expect(await errorOf(t.eval(`return kumo.fs.read_dir('${dir}/nope')`))).toMatch(/nope/);
    expect(await t.eval('return kumo.read_dir == kumo.fs.read_dir and kumo.glob == kumo.fs.glob')).toBe(true);
  });

  it('glob: files and directories, relative to relative_to, cached for ttl_seconds', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    const rel = ((await t.eval(`return kumo.fs.glob('conf/*', '${dir}')`)) as string[]).sort();
    expect(rel).toEqual(['conf/a.toml', 'conf/sub']);
    expect(await t.eval(`return kumo.fs.glob('${dir}/conf/*.toml')`)).toEqual([`${dir}/conf/a.toml`]);
    writeFileSync(path.join(dir, 'conf/c.toml'), 'c');
    expect(await t.eval(`return #kumo.fs.glob('${dir}/conf/*.toml')`)).toBe(1);
    expect(await t.eval(`return #kumo.fs.uncached_glob('${dir}/conf/*.toml')`)).toBe(2);
    await clock.advance(60_000);
    expect(await t.eval(`return #kumo.fs.glob('${dir}/conf/*.toml')`)).toBe(2);
  });

  it('metadata_for_path and symlink_metadata_for_path', async () => {
    const t = newLua();
    const m = (await t.eval(`local m = kumo.fs.metadata_for_path('${dir}/conf/sub/b.toml') m.mtime = tostring(m.mtime.unix_timestamp > 0) m.atime = nil m.ctime = nil return m`)) as Record<string, unknown>;
    expect(m).toMatchObject({ is_file: true, is_dir: false, is_symlink: false, len: 2, size: 2, readonly: false, mtime: 'true' });
    expect(await t.eval(`return kumo.fs.symlink_metadata_for_path('${dir}/conf').is_dir`)).toBe(true);
  });
});
