/**
 * The `io` library as KumoMTA's Lua states have it (lua-api-more.md §10):
 * complete and unfiltered — open, lines, read, write, input, output, close,
 * type, tmpfile, popen, stdin/stdout/stderr. Fengari ships only a fragment
 * (fengari-notes.md Q3), so the whole table is replaced. Files are real file
 * descriptors used with positioned synchronous reads and writes (blocking, as
 * C stdio blocks kumod); a pipe is an in-memory file (see stdlib-os.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lua, lauxlib, to_luastring, type LuaState } from './fengari.ts';
import { LuaClass } from './userdata.ts';
import { argString, optString, isNoneOrNil } from './args.ts';
import { pushBytes, pushText, keyBytes, toBytes } from './strings.ts';
import { errnoMessage, pushFileResult, runShell } from './stdlib-os.ts';

/** A number read by 'n', converted by Lua itself so integers stay integers. */
interface Numeral {
  numeral: string;
}

/** One open file: an fd, or bytes in memory (pipes). `pos` is null for streams (stdin). */
export class LuaFile {
  closed = false;
  constructor(
    readonly name: string,
    private fd: number | null,
    private pos: number | null,
    readonly append: boolean,
    private memory: Buffer | null = null,
    /** What close() returns for a pipe: runs the command (write pipes) and reports its status. */
    private readonly onClose?: (written: Buffer) => (L: LuaState) => number,
    private readonly owned = true,
  ) {}

  private pread(length: number): Buffer {
    if (this.memory) {
      const out = this.memory.subarray(this.pos!, this.pos! + length);
      this.pos! += out.length;
      return out;
    }
    const buf = Buffer.alloc(length);
    const n = fs.readSync(this.fd!, buf, 0, length, this.pos);
    if (this.pos !== null) this.pos += n;
    return buf.subarray(0, n);
  }

  private unread(n: number): void {
    if (this.pos !== null) this.pos -= n;
  }

  size(): number {
    return this.memory ? this.memory.length : this.fd !== null && this.pos !== null ? fs.fstatSync(this.fd).size : 0;
  }

  write(bytes: Uint8Array): void {
    if (this.memory) {
      this.memory = Buffer.concat([this.memory, bytes]);
      return;
    }
    fs.writeSync(this.fd!, bytes, 0, bytes.length, this.append ? null : this.pos);
    if (this.pos !== null) this.pos = this.append ? this.size() : this.pos + bytes.length;
  }

  seek(whence: string, offset: number): number {
    if (this.pos === null) throw new Error('Illegal seek');
    const base = whence === 'set' ? 0 : whence === 'end' ? this.size() : this.pos;
    if (base + offset < 0) throw new Error('Invalid argument');
    this.pos = base + offset;
    return this.pos;
  }

  /** One read format: a byte count, 'a', 'l', 'L' or 'n' (a leading '*' is allowed). null at end of file. */
  read(format: string | number): Uint8Array | Numeral | null {
    if (typeof format === 'number') {
      const out = this.pread(format);
      return out.length === 0 && (format > 0 || this.atEof()) ? null : out;
    }
    switch (format.replace(/^\*/, '')[0]) {
      case 'a':
        return this.readAll();
      case 'l':
        return this.readLine(false);
      case 'L':
        return this.readLine(true);
      case 'n':
        return this.readNumber();
    }
    throw new Error(`bad argument to 'read' (invalid format)`);
  }

  private atEof(): boolean {
    const probe = this.pread(1);
    this.unread(probe.length);
    return probe.length === 0;
  }

  private readAll(): Buffer {
    const chunks: Buffer[] = [];
    for (let chunk = this.pread(65536); chunk.length > 0; chunk = this.pread(65536)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  private readLine(keepEol: boolean): Buffer | null {
    const chunks: Buffer[] = [];
    // Streams cannot seek back, so they are read a byte at a time.
    const step = this.pos === null ? 1 : 4096;
    for (;;) {
      const chunk = this.pread(step);
      if (chunk.length === 0) return chunks.length === 0 ? null : Buffer.concat(chunks);
      const nl = chunk.indexOf(10);
      if (nl >= 0) {
        this.unread(chunk.length - nl - 1);
        chunks.push(chunk.subarray(0, keepEol ? nl + 1 : nl));
        return Buffer.concat(chunks);
      }
      chunks.push(chunk);
    }
  }

  private readNumber(): Numeral | null {
    const head = this.pread(200);
    const m = /^\s*[-+]?(0x[0-9a-f]+(\.[0-9a-f]*)?(p[-+]?\d+)?|\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)/i.exec(head.toString('latin1'));
    this.unread(head.length - (m ? m[0].length : 0));
    return m ? { numeral: m[0].trim() } : null;
  }

  flush(): void {
    if (this.fd !== null && this.pos !== null) fs.fsyncSync(this.fd);
  }

  /** Closes the file; for a pipe, pushes what close() returns (true|nil, 'exit'|'signal', code). */
  close(L: LuaState): number {
    this.closed = true;
    if (this.fd !== null && this.owned) fs.closeSync(this.fd);
    this.fd = null;
    if (this.onClose) return this.onClose(this.memory ?? Buffer.alloc(0))(L);
    lua.lua_pushboolean(L, true);
    return 1;
  }

  get isStandardStream(): boolean {
    return !this.owned;
  }

  static memory(name: string, content: Buffer, onClose: (written: Buffer) => (L: LuaState) => number): LuaFile {
    return new LuaFile(name, null, 0, false, content, onClose);
  }
}

const OPEN_FLAGS: Record<string, string> = { r: 'r', w: 'w', a: 'a', 'r+': 'r+', 'w+': 'w+', 'a+': 'a+' };

export function openFile(name: string, mode: string): LuaFile {
  const flags = OPEN_FLAGS[mode.replace('b', '')];
  if (!flags || !/^[rwa]\+?b?$/.test(mode)) throw new Error(`bad argument #2 to 'open' (invalid mode '${mode}')`);
  const fd = fs.openSync(name, flags);
  return new LuaFile(name, fd, mode.startsWith('a') ? fs.fstatSync(fd).size : 0, mode.startsWith('a'));
}

const FileClass: LuaClass<LuaFile> = new LuaClass<LuaFile>({
  name: 'FILE*',
  methods: {
    read: (L) => readFormats(L, openCheck(L, 1), 2),
    lines: (L) => linesIterator(L, openCheck(L, 1), 2, false),
    write: (L) => writeValues(L, openCheck(L, 1), 2, 1),
    flush: (L) => {
      openCheck(L, 1).flush();
      lua.lua_pushvalue(L, 1);
      return 1;
    },
    seek: (L) => {
      const file = openCheck(L, 1);
      const whence = optString(L, 2) ?? 'cur';
      if (!['set', 'cur', 'end'].includes(whence)) throw new Error(`bad argument #1 to 'seek' (invalid option '${whence}')`);
      const offset = isNoneOrNil(L, 3) ? 0 : Number(lauxlib.luaL_checkinteger(L, 3));
      try {
        lua.lua_pushinteger(L, file.seek(whence, offset));
        return 1;
      } catch (e) {
        return pushFileResult(L, e, file.name);
      }
    },
    setvbuf: (L) => {
      openCheck(L, 1);
      lua.lua_pushboolean(L, true);
      return 1;
    },
    close: (L) => closeFile(L, openCheck(L, 1)),
  },
  meta: {
    __tostring: (L) => {
      const file = FileClass.check(L, 1);
      pushText(L, file.closed ? 'file (closed)' : `file (${file.name})`);
      return 1;
    },
  },
});

function openCheck(L: LuaState, i: number): LuaFile {
  const file = FileClass.check(L, i);
  if (file.closed) throw new Error('attempt to use a closed file');
  return file;
}

function closeFile(L: LuaState, file: LuaFile): number {
  if (file.isStandardStream) {
    lua.lua_pushnil(L);
    pushText(L, 'cannot close standard file');
    return 2;
  }
  return file.close(L);
}

function pushRead(L: LuaState, v: Uint8Array | Numeral | null): void {
  if (v === null) lua.lua_pushnil(L);
  else if (v instanceof Uint8Array) pushBytes(L, v);
  else if (lua.lua_stringtonumber(L, to_luastring(v.numeral)) === 0) lua.lua_pushnil(L);
}

function formatAt(L: LuaState, i: number): string | number {
  return lua.lua_type(L, i) === lua.LUA_TNUMBER ? Number(lua.lua_tointeger(L, i)) : argString(L, i);
}

/** Reads formats `first..top` (default 'l'); stops at the first nil, as C Lua does. */
function readFormats(L: LuaState, file: LuaFile, first: number): number {
  const formats: (string | number)[] = [];
  for (let i = first; i <= lua.lua_gettop(L); i++) formats.push(formatAt(L, i));
  return pushReads(L, file, formats.length ? formats : ['l']);
}

function pushReads(L: LuaState, file: LuaFile, formats: (string | number)[]): number {
  let n = 0;
  for (const fmt of formats) {
    const v = file.read(fmt);
    pushRead(L, v);
    n++;
    if (v === null) break;
  }
  return n;
}

function linesIterator(L: LuaState, file: LuaFile, first: number, closeAtEof: boolean): number {
  const formats: (string | number)[] = [];
  for (let i = first; i <= lua.lua_gettop(L); i++) formats.push(formatAt(L, i));
  lua.lua_pushcfunction(L, (Li: LuaState) => {
    if (file.closed) throw new Error('file is already closed');
    const top = lua.lua_gettop(Li);
    const n = pushReads(Li, file, formats.length ? formats : ['l']);
    if (lua.lua_isnil(Li, top + 1) && closeAtEof) {
      lua.lua_settop(Li, top);
      file.close(Li);
      lua.lua_settop(Li, top);
      lua.lua_pushnil(Li);
      return 1;
    }
    return n;
  });
  return 1;
}

function writeValues(L: LuaState, file: LuaFile, first: number, resultIndex: number): number {
  for (let i = first; i <= lua.lua_gettop(L); i++) {
    const t = lua.lua_type(L, i);
    if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) lauxlib.luaL_checklstring(L, i);
    lauxlib.luaL_tolstring(L, i);
    const bytes = toBytes(L, -1);
    lua.lua_pop(L, 1);
    try {
      file.write(bytes);
    } catch (e) {
      return pushFileResult(L, e, file.name);
    }
  }
  lua.lua_pushvalue(L, resultIndex);
  return 1;
}

/** io.open's failure triple: nil, "<name>: <strerror>", errno. */
function tryOpen(L: LuaState, name: string, mode: string): number {
  try {
    FileClass.push(L, openFile(name, mode));
    return 1;
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    return pushFileResult(L, e, name);
  }
}

const REG_INPUT = keyBytes('kumo-lua.io.input');
const REG_OUTPUT = keyBytes('kumo-lua.io.output');

function defaultFile(L: LuaState, key: Uint8Array): LuaFile {
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
  const file = FileClass.check(L, -1);
  lua.lua_pop(L, 1);
  if (file.closed) throw new Error(`default ${key === REG_INPUT ? 'input' : 'output'} file is closed`);
  return file;
}

/** io.input / io.output: with a name opens it, with a file sets it; returns the current one. */
function selectDefault(key: Uint8Array, mode: string) {
  return (L: LuaState): number => {
    if (!isNoneOrNil(L, 1)) {
      if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
        const name = argString(L, 1);
        try {
          FileClass.push(L, openFile(name, mode));
        } catch (e) {
          throw new Error(`${name}: ${errnoMessage(e)}`);
        }
      } else {
        FileClass.check(L, 1);
        lua.lua_pushvalue(L, 1);
      }
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, key);
    }
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
    return 1;
  };
}

/** A unique empty file under the temp directory, opened for update and already unlinked. */
function tmpfile(): LuaFile {
  const name = path.join(os.tmpdir(), `lua_tmpfile_${process.pid}_${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(name, 'wx+');
  fs.unlinkSync(name);
  return new LuaFile(name, fd, 0, false);
}

function popen(L: LuaState): number {
  const command = argString(L, 1);
  const mode = optString(L, 2) ?? 'r';
  if (mode !== 'r' && mode !== 'w') throw new Error(`bad argument #2 to 'popen' (invalid mode '${mode}')`);
  if (mode === 'r') {
    const result = runShell(command, { captureOutput: true });
    FileClass.push(L, LuaFile.memory(command, result.output, () => result.push));
  } else {
    // What is written is the command's standard input, run when the pipe is closed.
    FileClass.push(L, LuaFile.memory(command, Buffer.alloc(0), (written) => runShell(command, { input: written }).push));
  }
  return 1;
}

const std = (name: string, fd: number) => new LuaFile(name, fd, null, false, null, undefined, false);

/** Replaces Fengari's partial `io` table with the complete library. */
export function installIo(L: LuaState): void {
  const stdin = std('stdin', 0);
  const stdout = std('stdout', 1);
  lua.lua_createtable(L, 0, 16);
  const set = (name: string, fn: (L: LuaState) => number) => {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, keyBytes(name));
  };
  for (const [name, file] of [['stdin', stdin], ['stdout', stdout], ['stderr', std('stderr', 2)]] as const) {
    FileClass.push(L, file);
    lua.lua_setfield(L, -2, keyBytes(name));
  }
  FileClass.push(L, stdin);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, REG_INPUT);
  FileClass.push(L, stdout);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, REG_OUTPUT);

  set('open', (Lo) => tryOpen(Lo, argString(Lo, 1), optString(Lo, 2) ?? 'r'));
  set('lines', (Lo) => {
    if (isNoneOrNil(Lo, 1)) return linesIterator(Lo, defaultFile(Lo, REG_INPUT), 2, false);
    const name = argString(Lo, 1);
    let file: LuaFile;
    try {
      file = openFile(name, 'r');
    } catch (e) {
      throw new Error(`${name}: ${errnoMessage(e)}`);
    }
    return linesIterator(Lo, file, 2, true);
  });
  set('read', (Lo) => readFormats(Lo, defaultFile(Lo, REG_INPUT), 1));
  set('write', (Lo) => {
    // The output file goes below the values so it can be returned.
    lua.lua_getfield(Lo, lua.LUA_REGISTRYINDEX, REG_OUTPUT);
    lua.lua_insert(Lo, 1);
    return writeValues(Lo, defaultFile(Lo, REG_OUTPUT), 2, 1);
  });
  set('close', (Lo) => closeFile(Lo, isNoneOrNil(Lo, 1) ? defaultFile(Lo, REG_OUTPUT) : openCheck(Lo, 1)));
  set('flush', (Lo) => {
    defaultFile(Lo, REG_OUTPUT).flush();
    lua.lua_getfield(Lo, lua.LUA_REGISTRYINDEX, REG_OUTPUT);
    return 1;
  });
  set('input', selectDefault(REG_INPUT, 'r'));
  set('output', selectDefault(REG_OUTPUT, 'w'));
  set('type', (Lo) => {
    lauxlib.luaL_checkany(Lo, 1);
    const file = FileClass.test(Lo, 1);
    if (!file) lua.lua_pushnil(Lo);
    else pushText(Lo, file.closed ? 'closed file' : 'file');
    return 1;
  });
  set('tmpfile', (Lo) => {
    try {
      FileClass.push(Lo, tmpfile());
      return 1;
    } catch (e) {
      return pushFileResult(Lo, e, 'tmpfile');
    }
  });
  set('popen', popen);
  lua.lua_setglobal(L, keyBytes('io'));
}
