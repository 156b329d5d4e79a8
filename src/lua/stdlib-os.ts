/**
 * The `os` functions KumoMTA's Lua states have and Fengari lacks or gets
 * wrong (lua-api-more.md §10): tmpname creating its file, remove, rename,
 * execute and exit, with C Lua's results; plus the shell runner behind
 * io.popen, and the opt-in strict mode that turns file and process access off.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { lua, lauxlib, type LuaState } from './fengari.ts';
import { argString, isNoneOrNil } from './args.ts';
import { keyBytes, pushText } from './strings.ts';

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EXDEV: 'Invalid cross-device link',
  EBADF: 'Bad file descriptor',
  EMFILE: 'Too many open files',
};

/** C's strerror text for a Node system error, else its message. */
export function errnoMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code && STRERROR[err.code]) ?? err.message;
}

/** C Lua's failure triple: nil, "<name>: <strerror>", errno. */
export function pushFileResult(L: LuaState, e: unknown, name: string): number {
  lua.lua_pushnil(L);
  pushText(L, `${name}: ${errnoMessage(e)}`);
  lua.lua_pushinteger(L, Math.abs((e as NodeJS.ErrnoException).errno ?? 1));
  return 3;
}

export interface ShellResult {
  output: Buffer;
  /** Pushes what C Lua's os.execute and pipe close() return: true|nil, 'exit'|'signal', code. */
  push: (L: LuaState) => number;
}

/** Runs `command` with /bin/sh -c to completion (blocking, as system() and pclose() do). */
export function runShell(command: string, io: { captureOutput?: boolean; input?: Buffer } = {}): ShellResult {
  const r = spawnSync('/bin/sh', ['-c', command], {
    input: io.input,
    stdio: [io.input ? 'pipe' : 'inherit', io.captureOutput ? 'pipe' : 'inherit', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const signal = r.signal ? (lookupSignal(r.signal) ?? 0) : null;
  const code = signal ?? r.status ?? 127;
  const kind = signal !== null ? 'signal' : 'exit';
  return {
    output: (r.stdout as Buffer | null) ?? Buffer.alloc(0),
    push: (L) => {
      if (kind === 'exit' && code === 0) lua.lua_pushboolean(L, true);
      else lua.lua_pushnil(L);
      pushText(L, kind);
      lua.lua_pushinteger(L, code);
      return 3;
    },
  };
}

function lookupSignal(name: NodeJS.Signals): number | undefined {
  return (os.constants.signals as Record<string, number>)[name];
}

const TMPNAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** mkstemp("/tmp/lua_XXXXXX"): an empty file that did not exist before. */
function tmpname(): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += TMPNAME_CHARS[Math.floor(Math.random() * TMPNAME_CHARS.length)];
    const name = path.join('/tmp', `lua_${suffix}`);
    try {
      fs.closeSync(fs.openSync(name, 'wx', 0o600));
      return name;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break;
    }
  }
  throw new Error('unable to generate a unique filename');
}

function set(L: LuaState, name: string, fn: (L: LuaState) => number): void {
  lua.lua_pushcfunction(L, fn);
  lua.lua_setfield(L, -2, keyBytes(name));
}

/** Adds tmpname, remove, rename, execute and exit to the global `os` table. */
export function installOs(L: LuaState): void {
  lua.lua_getglobal(L, keyBytes('os'));
  set(L, 'tmpname', (Lo) => {
    pushText(Lo, tmpname());
    return 1;
  });
  set(L, 'remove', (Lo) => {
    const name = argString(Lo, 1);
    try {
      if (fs.lstatSync(name).isDirectory()) fs.rmdirSync(name);
      else fs.unlinkSync(name);
      lua.lua_pushboolean(Lo, true);
      return 1;
    } catch (e) {
      return pushFileResult(Lo, e, name);
    }
  });
  set(L, 'rename', (Lo) => {
    const from = argString(Lo, 1);
    const to = argString(Lo, 2);
    try {
      fs.renameSync(from, to);
      lua.lua_pushboolean(Lo, true);
      return 1;
    } catch (e) {
      return pushFileResult(Lo, e, from);
    }
  });
  set(L, 'execute', (Lo) => {
    if (isNoneOrNil(Lo, 1)) {
      lua.lua_pushboolean(Lo, true); // a shell is available
      return 1;
    }
    return runShell(argString(Lo, 1)).push(Lo);
  });
  set(L, 'exit', (Lo) => {
    const status = lua.lua_isboolean(Lo, 1) ? (lua.lua_toboolean(Lo, 1) ? 0 : 1) : Number(lauxlib.luaL_optinteger(Lo, 1, 0));
    process.exit(status);
  });
  lua.lua_pop(L, 1);
}

/** What strict mode turns off, by library. Loading code (require, loadfile, dofile) stays. */
const STRICT_OFF: Record<string, string[]> = {
  io: ['open', 'lines', 'input', 'output', 'popen', 'tmpfile'],
  os: ['execute', 'exit', 'remove', 'rename', 'tmpname'],
};

export const STRICT_ENV = 'KUMO_LUA_STRICT';

export function strictFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[STRICT_ENV] === '1' || env[STRICT_ENV] === 'true';
}

/** Replaces file and process access with functions that say strict mode is on. */
export function applyStrictMode(L: LuaState): void {
  for (const [lib, names] of Object.entries(STRICT_OFF)) {
    lua.lua_getglobal(L, keyBytes(lib));
    for (const name of names) {
      const what = `${lib}.${name}`;
      set(L, name, () => {
        throw new Error(`${what} is turned off by kumo-lua's strict mode (--strict / ${STRICT_ENV}=1)`);
      });
    }
    lua.lua_pop(L, 1);
  }
}
