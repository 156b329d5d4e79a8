/**
 * io.open / io.lines / io.read-style file access, which Fengari lacks
 * (fengari-notes.md Q3). Files are read whole on open (policy files and
 * secrets are small) and written on flush/close.
 */
import fs from 'node:fs';
import { lua, lauxlib, to_luastring, type LuaState } from './fengari.ts';
import { LuaClass } from './userdata.ts';
import { argString, optString, isNoneOrNil } from './args.ts';
import { pushBytes, keyBytes } from './strings.ts';

class LuaFile {
  pos = 0;
  closed = false;
  private pending: Uint8Array[] = [];
  constructor(
    readonly path: string,
    readonly mode: string,
    private content: Uint8Array,
  ) {}

  get size(): number {
    return this.content.length;
  }

  get writable(): boolean {
    return /[wa+]/.test(this.mode);
  }

  write(bytes: Uint8Array): void {
    this.pending.push(new Uint8Array(bytes));
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    if (this.mode.startsWith('a')) fs.appendFileSync(this.path, data);
    else {
      const merged = Buffer.concat([this.content.subarray(0, this.pos), data]);
      fs.writeFileSync(this.path, merged);
      this.content = merged;
      this.pos = merged.length;
    }
  }

  /** One read format: 'a' all, 'l' line without EOL, 'L' line with EOL, 'n' number, or a byte count. */
  read(format: string | number): Uint8Array | number | null {
    const c = this.content;
    if (typeof format === 'number') {
      if (this.pos >= c.length) return null;
      const out = c.subarray(this.pos, this.pos + format);
      this.pos += out.length;
      return out;
    }
    const f = format.replace(/^\*/, '')[0];
    if (f === 'a') {
      const out = c.subarray(this.pos);
      this.pos = c.length;
      return out;
    }
    if (f === 'l' || f === 'L') {
      if (this.pos >= c.length) return null;
      let end = c.indexOf(10, this.pos);
      const hasEol = end >= 0;
      if (!hasEol) end = c.length;
      const out = c.subarray(this.pos, f === 'L' && hasEol ? end + 1 : end);
      this.pos = hasEol ? end + 1 : end;
      return out;
    }
    if (f === 'n') {
      const rest = new TextDecoder().decode(c.subarray(this.pos));
      const m = /^\s*[-+]?(0x[0-9a-f]+|\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)/i.exec(rest);
      if (!m) return null;
      this.pos += Buffer.byteLength(m[0]);
      return Number(m[1]!.toLowerCase().startsWith('0x') ? parseInt(m[1]!, 16) : m[0]);
    }
    throw new Error(`bad argument to 'read' (invalid format '${format}')`);
  }
}

function pushRead(L: LuaState, v: Uint8Array | number | null): void {
  if (v === null) lua.lua_pushnil(L);
  else if (typeof v === 'number') lua.lua_pushnumber(L, v);
  else pushBytes(L, v);
}

function readFormats(L: LuaState, file: LuaFile, first: number): number {
  const top = lua.lua_gettop(L);
  if (top < first) {
    pushRead(L, file.read('l'));
    return 1;
  }
  for (let i = first; i <= top; i++) {
    const fmt = lua.lua_type(L, i) === lua.LUA_TNUMBER ? Number(lua.lua_tointeger(L, i)) : argString(L, i);
    const v = file.read(fmt);
    pushRead(L, v);
    if (v === null) return i - first + 1;
  }
  return top - first + 1;
}

function openFile(path: string, mode: string): LuaFile {
  if (!/^[rwa]\+?b?$/.test(mode)) throw new Error(`bad argument #2 to 'open' (invalid mode '${mode}')`);
  let content = new Uint8Array(0);
  if (mode.startsWith('r') || mode.startsWith('a')) {
    if (fs.existsSync(path) || mode.startsWith('r')) content = new Uint8Array(fs.readFileSync(path));
  } else {
    fs.writeFileSync(path, '');
  }
  return new LuaFile(path, mode, content);
}

function linesIterator(L: LuaState, file: LuaFile, closeAtEof: boolean): number {
  lua.lua_pushcfunction(L, (Li: LuaState) => {
    const v = file.read('l');
    if (v === null && closeAtEof) file.closed = true;
    pushRead(Li, v);
    return 1;
  });
  return 1;
}

const FileClass: LuaClass<LuaFile> = new LuaClass<LuaFile>({
  name: 'FILE*',
  methods: {
    read: (L) => readFormats(L, FileClass.check(L, 1), 2),
    lines: (L) => linesIterator(L, FileClass.check(L, 1), false),
    write: (L) => {
      const file = FileClass.check(L, 1);
      if (!file.writable) throw new Error(`file ${file.path} is not open for writing`);
      for (let i = 2; i <= lua.lua_gettop(L); i++) file.write(lauxlib.luaL_checklstring(L, i));
      lua.lua_pushvalue(L, 1);
      return 1;
    },
    flush: (L) => {
      FileClass.check(L, 1).flush();
      return 0;
    },
    seek: (L) => {
      const file = FileClass.check(L, 1);
      const whence = optString(L, 2) ?? 'cur';
      const offset = isNoneOrNil(L, 3) ? 0 : Number(lua.lua_tointeger(L, 3));
      const base = whence === 'set' ? 0 : whence === 'end' ? file.size : file.pos;
      file.pos = Math.max(0, base + offset);
      lua.lua_pushinteger(L, file.pos);
      return 1;
    },
    close: (L) => {
      const file = FileClass.check(L, 1);
      file.flush();
      file.closed = true;
      lua.lua_pushboolean(L, true);
      return 1;
    },
  },
  meta: {
    __tostring: (L) => {
      const file = FileClass.check(L, 1);
      lua.lua_pushstring(L, to_luastring(file.closed ? 'file (closed)' : `file (${file.path})`));
      return 1;
    },
  },
});

/** Adds open/lines/read-from-file to the `io` table. */
export function installIo(L: LuaState): void {
  lua.lua_getglobal(L, keyBytes('io'));
  const set = (name: string, fn: (L: LuaState) => number) => {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, keyBytes(name));
  };
  set('open', (Lo) => {
    const path = argString(Lo, 1);
    const mode = optString(Lo, 2) ?? 'r';
    try {
      FileClass.push(Lo, openFile(path, mode));
      return 1;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      lua.lua_pushnil(Lo);
      lua.lua_pushstring(Lo, to_luastring(`${path}: ${err.code === 'ENOENT' ? 'No such file or directory' : err.message}`));
      lua.lua_pushinteger(Lo, err.errno ? Math.abs(err.errno) : 1);
      return 3;
    }
  });
  set('lines', (Lo) => {
    const path = argString(Lo, 1);
    let file: LuaFile;
    try {
      file = openFile(path, 'r');
    } catch (e) {
      throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    }
    return linesIterator(Lo, file, true);
  });
  lua.lua_pop(L, 1);
}
