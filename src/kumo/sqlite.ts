/**
 * `require 'sqlite'` (clients.md §5: a local database, not outbound), on
 * better-sqlite3. `sqlite.open(path [, busy_timeout_ms = 500])` gives a
 * connection whose one method, `db:execute(sql, ...)`, binds positional
 * parameters, or named ones from a single table argument (`:name`, `@name`
 * and `$name` all read key `name`), and returns:
 * - for a statement that yields columns: an array of rows, each the bare value
 *   when there is one column, else a table keyed by column name (NULL → nil);
 * - otherwise: the number of rows changed.
 * Queries run synchronously (KumoMTA uses a thread pool; the result is the same).
 * The same table is also `kumo.sqlite`.
 */
import Database from 'better-sqlite3';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argString, isNoneOrNil, optInteger, typeNameOrNone } from '../lua/args.ts';
import { decodeUtf8Strict, pushBytes, pushText, toBytes, toText } from '../lua/strings.ts';
import { LuaClass } from '../lua/userdata.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

type SqlValue = null | bigint | number | string | Buffer;

interface Connection {
  path: string;
  db: Database.Database;
}

/** A Lua value as an SQLite parameter: integers bind as INTEGER, floats as REAL, invalid UTF-8 as a BLOB. */
function paramAt(L: LuaState, idx: number, what: string): SqlValue {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx) ? 1n : 0n;
    case lua.LUA_TNUMBER:
      return lua.lua_isinteger(L, idx) ? BigInt(lua.lua_tointeger(L, idx) as number) : Number(lua.lua_tonumber(L, idx));
    case lua.LUA_TSTRING: {
      const bytes = toBytes(L, idx);
      return decodeUtf8Strict(bytes) ?? Buffer.from(bytes);
    }
    default:
      throw new Error(`sqlite execute: ${what}: cannot bind a ${typeNameOrNone(L, idx)}`);
  }
}

/** Positional parameters from arguments 3.., or named ones from a table at 3. */
function paramsAt(L: LuaState): SqlValue[] | Record<string, SqlValue> {
  const top = lua.lua_gettop(L);
  if (top === 3 && lua.lua_type(L, 3) === lua.LUA_TTABLE) {
    const named: Record<string, SqlValue> = {};
    lua.lua_pushnil(L);
    while (lua.lua_next(L, 3)) {
      if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) throw new Error('sqlite execute: named parameters need string keys');
      const key = toText(L, -2).replace(/^[:@$]/, '');
      named[key] = paramAt(L, lua.lua_gettop(L), `parameter ${key}`);
      lua.lua_pop(L, 1);
    }
    return named;
  }
  const list: SqlValue[] = [];
  for (let i = 3; i <= top; i++) list.push(paramAt(L, i, `parameter ${i - 2}`));
  return list;
}

function pushSqlValue(L: LuaState, v: unknown): void {
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === 'bigint') {
    const n = Number(v);
    if (Number.isSafeInteger(n)) lua.lua_pushinteger(L, n);
    else lua.lua_pushnumber(L, n);
  } else if (typeof v === 'number') lua.lua_pushnumber(L, v);
  else if (typeof v === 'string') pushText(L, v);
  else if (v instanceof Uint8Array) pushBytes(L, v);
  else throw new Error(`sqlite execute: unexpected column value ${String(v)}`);
}

function execute(conn: Connection, L: LuaState): number {
  const sql = argString(L, 2);
  const params = paramsAt(L);
  let stmt: Database.Statement;
  try {
    stmt = conn.db.prepare(sql);
  } catch (e) {
    throw new Error(`sqlite ${conn.path}: ${(e as Error).message}`);
  }
  const bind = Array.isArray(params) ? params : [params];
  try {
    if (!stmt.reader) {
      const info = stmt.run(...bind);
      lua.lua_pushinteger(L, info.changes);
      return 1;
    }
    stmt.safeIntegers(true).raw(true);
    const columns = stmt.columns().map((c) => c.name);
    const rows = stmt.all(...bind) as unknown[][];
    lua.lua_createtable(L, rows.length, 0);
    rows.forEach((row, i) => {
      if (columns.length === 1) pushSqlValue(L, row[0]);
      else {
        lua.lua_createtable(L, 0, columns.length);
        columns.forEach((name, c) => {
          pushText(L, name);
          pushSqlValue(L, row[c]);
          lua.lua_rawset(L, -3);
        });
      }
      lua.lua_rawseti(L, -2, i + 1);
    });
    return 1;
  } catch (e) {
    throw new Error(`sqlite ${conn.path}: ${(e as Error).message}`);
  }
}

const CONNECTION: LuaClass<Connection> = new LuaClass<Connection>({
  name: 'SqliteConnection',
  methods: { execute: (L): number => execute(CONNECTION.check(L, 1), L) },
  meta: { __tostring: (L) => (pushText(L, `SqliteConnection(${CONNECTION.check(L, 1).path})`), 1) },
});

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  const sqlite = kumo.sub('sqlite');
  sqlite.fn('open', (L) => {
    const path = argString(L, 1);
    const busyMs = isNoneOrNil(L, 2) ? 500 : optInteger(L, 2)!;
    if (busyMs < 0) throw new Error(`sqlite.open: busy_timeout must not be negative, got ${busyMs}`);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: busyMs });
    } catch (e) {
      throw new Error(`sqlite.open ${path}: ${(e as Error).message}`);
    }
    CONNECTION.push(L, { path, db });
    return 1;
  });
  sqlite.installAs('sqlite');
}
