import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

describe("require 'sqlite'", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kumo-sqlite-'));
    file = path.join(dir, 'people.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates, fills and queries a database file', async () => {
    const t = newLua();
    const got = await t.eval(`
      local sqlite = require 'sqlite'
      local db = sqlite.open(${JSON.stringify(file)})
      local created = db:execute 'CREATE TABLE people (name, age)'
      local n1 = db:execute('INSERT INTO people (name, age) values (?, ?)', 'john', 42)
      local n2 = db:execute('INSERT INTO people (name, age) values (:name, :age)', { name = 'fred', age = 32 })
      return {
        created = created, n1 = n1, n2 = n2,
        ages = db:execute 'select age from people order by age',
        all = db:execute 'select * from people order by age',
        none = db:execute('select name from people where age > ?', 100),
        deleted = db:execute 'delete from people',
      }
    `);
    expect(got).toEqual({
      created: 0, n1: 1, n2: 1,
      ages: [32, 42],
      all: [{ name: 'fred', age: 32 }, { name: 'john', age: 42 }],
      none: {},
      deleted: 2,
    });
  });

  it('writes a real file another connection can read, keeping integer, real, text, blob and NULL apart', async () => {
    const t = newLua();
    await t.eval(`
      local db = require('sqlite').open(${JSON.stringify(file)}, 1000)
      db:execute 'CREATE TABLE v (i, r, t, b, n)'
      db:execute('INSERT INTO v VALUES (?, ?, ?, ?, ?)', 7, 2.5, 'text', '\\xff\\x00', nil)
    `);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT typeof(i) i, typeof(r) r, typeof(t) t, typeof(b) b, typeof(n) n FROM v').get()).toEqual({ i: 'integer', r: 'real', t: 'text', b: 'blob', n: 'null' });
    db.close();
    expect(await t.eval(`
      local db = require('sqlite').open(${JSON.stringify(file)})
      local row = db:execute('SELECT i, r, t, b, n, 3.0 AS f FROM v')[1]
      return { math.type(row.i), math.type(row.r), row.t, #row.b, row.n == nil, math.type(row.f) }
    `)).toEqual(['integer', 'float', 'text', 2, true, 'float']);
  });

  it('is also kumo.sqlite and reports SQL errors with the path', async () => {
    const t = newLua();
    expect(await t.eval("return kumo.sqlite == require 'sqlite'")).toBe(true);
    expect(await t.eval("return require('sqlite').open(':memory:'):execute('SELECT @a || $b', { ['@a'] = 'x', b = 'y' })")).toEqual(['xy']);
    expect(await errorOf(t.eval("require('sqlite').open(':memory:'):execute('SELEC 1')"))).toMatch(/sqlite :memory:: .*syntax error/);
    expect(await errorOf(t.eval("require('sqlite').open(':memory:'):execute('SELECT ?', {})"))).toMatch(/sqlite/);
    expect(await errorOf(t.eval("require('sqlite').open(':memory:'):execute('SELECT ?', function() end)"))).toMatch(/cannot bind a function/);
  });
});
