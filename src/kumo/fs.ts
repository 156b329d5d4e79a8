/**
 * kumo.fs (lua-api-more.md §3.11) and its deprecated top-level aliases
 * kumo.glob, kumo.uncached_glob, kumo.read_dir. All async. Quirks kept from
 * KumoMTA's code: read_dir joins the given path with each entry (relative
 * stays relative); open 'w' does not truncate and 'r+' creates.
 */
import { constants as C, promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { lua, type LuaState } from '../lua/fengari.ts';
import { argBytes, argString, isNoneOrNil, optInteger, optString } from '../lua/args.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { pushJson, pushNumber } from '../lua/marshal.ts';
import { keyBytes, pushBytes, toText } from '../lua/strings.ts';
import { LuaClass } from '../lua/userdata.ts';
import type { Clock } from '../util/clock.ts';
import { walkGlob } from './config-globs.ts';
import { Time, TIME } from './time.ts';
import { osErrorText } from './support/os-error.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

/** Node open flags for each mode KumoMTA accepts (`b` is ignored). */
const MODES: Record<string, { flags: number; append: boolean }> = {
  r: { flags: C.O_RDONLY, append: false },
  w: { flags: C.O_WRONLY | C.O_CREAT, append: false },
  a: { flags: C.O_WRONLY | C.O_CREAT | C.O_APPEND, append: true },
  'r+': { flags: C.O_RDWR | C.O_CREAT, append: false },
  'w+': { flags: C.O_RDWR | C.O_CREAT, append: false },
  'a+': { flags: C.O_RDWR | C.O_CREAT | C.O_APPEND, append: true },
};

class LuaFile {
  position = 0;
  constructor(readonly fh: fsp.FileHandle, readonly append: boolean, readonly name: string) {}
}

const FILE: LuaClass<LuaFile> = new LuaClass<LuaFile>({
  name: 'File',
  methods: {
    read: asyncFunction('File:read', async (L) => {
      const f = FILE.check(L, 1);
      const limit = optInteger(L, 2);
      const size = Number((await f.fh.stat()).size);
      const want = Math.max(0, limit === undefined ? size - f.position : Math.min(limit, Math.max(0, size - f.position)));
      const buf = Buffer.alloc(want);
      const { bytesRead } = want > 0 ? await f.fh.read(buf, 0, want, f.position) : { bytesRead: 0 };
      f.position += bytesRead;
      return (Lr) => (pushBytes(Lr, buf.subarray(0, bytesRead)), 1);
    }),
    write: asyncFunction('File:write', async (L) => {
      const f = FILE.check(L, 1);
      const data = Buffer.from(argBytes(L, 2));
      if (f.append) {
        await f.fh.write(data);
        f.position = Number((await f.fh.stat()).size);
      } else {
        const { bytesWritten } = await f.fh.write(data, 0, data.length, f.position);
        f.position += bytesWritten;
      }
    }),
    seek: asyncFunction('File:seek', async (L) => {
      const f = FILE.check(L, 1);
      // whence and offset may come in either order.
      let whence = 'cur';
      let offset = 0;
      for (const i of [2, 3]) {
        if (lua.lua_type(L, i) === lua.LUA_TSTRING) whence = toText(L, i);
        else if (!isNoneOrNil(L, i)) offset = optInteger(L, i) ?? 0;
      }
      if (!['set', 'cur', 'end'].includes(whence)) throw new Error(`File:seek: invalid whence ${JSON.stringify(whence)}, expected 'set', 'cur' or 'end'`);
      const base = whence === 'set' ? 0 : whence === 'cur' ? f.position : Number((await f.fh.stat()).size);
      if (base + offset < 0) throw new Error('File:seek: invalid seek to a negative position');
      f.position = base + offset;
      return (Lr) => (pushNumber(Lr, f.position), 1);
    }),
    flush: asyncFunction('File:flush', async (L) => {
      await FILE.check(L, 1).fh.datasync();
    }),
    close: asyncFunction('File:close', async (L) => {
      await FILE.check(L, 1).fh.close();
    }),
  },
});

function metadataJson(st: BigIntStats, clock: Clock): (L: LuaState) => number {
  return (L) => {
    pushJson(L, {
      is_file: st.isFile(), is_dir: st.isDirectory(), is_symlink: st.isSymbolicLink(), len: Number(st.size),
      readonly: (Number(st.mode) & 0o222) === 0, dev: Number(st.dev), ino: Number(st.ino), mode: Number(st.mode),
      nlink: Number(st.nlink), uid: Number(st.uid), gid: Number(st.gid), rdev: Number(st.rdev), size: Number(st.size),
      blksize: Number(st.blksize), blocks: Number(st.blocks),
    });
    for (const [key, ns] of [['atime', st.atimeNs], ['mtime', st.mtimeNs], ['ctime', st.ctimeNs]] as const) {
      TIME.push(L, Time.fromTotalNanos(ns, clock));
      lua.lua_setfield(L, -2, keyBytes(key));
    }
    return 1;
  };
}

interface GlobEntry {
  expires: number;
  result: Promise<string[]>;
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const fs = kumo.sub('fs');
  const cache = new Map<string, GlobEntry>();
  const fail = (what: string, p: string, err: unknown): never => {
    throw new Error(`${what} ${p}: ${osErrorText(err)}`);
  };
  const pushList = (list: string[]): LuaReturn => (L) => (pushJson(L, list), 1);

  const readDir = asyncFunction('kumo.fs.read_dir', async (L) => {
    const dir = argString(L, 1);
    const names = await fsp.readdir(dir).catch((err: unknown) => fail('read_dir', dir, err));
    return pushList(names.map((n) => path.join(dir, n)));
  });
  const uncachedGlob = asyncFunction('kumo.fs.uncached_glob', async (L) => {
    const pattern = argString(L, 1);
    const relativeTo = optString(L, 2) ?? '.';
    return pushList(await walkGlob(pattern, { relativeTo, onlyFiles: false }));
  });
  const glob = asyncFunction('kumo.fs.glob', async (L) => {
    const pattern = argString(L, 1);
    const relativeTo = optString(L, 2) ?? '.';
    const ttlMs = (optInteger(L, 3) ?? 60) * 1000;
    const key = JSON.stringify([pattern, relativeTo]);
    const now = ctx.clock.now();
    let entry = cache.get(key);
    if (!entry || entry.expires <= now) {
      // Errors are cached too, like results.
      entry = { expires: now + ttlMs, result: walkGlob(pattern, { relativeTo, onlyFiles: false }) };
      entry.result.catch(() => undefined);
      cache.set(key, entry);
    }
    return pushList(await entry.result);
  });
  const metadata = (follow: boolean, name: string) =>
    asyncFunction(`kumo.fs.${name}`, async (L) => {
      const p = argString(L, 1);
      const st = await (follow ? fsp.stat(p, { bigint: true }) : fsp.lstat(p, { bigint: true })).catch((err: unknown) => fail(name, p, err));
      return metadataJson(st, ctx.clock);
    });
  const open = asyncFunction('kumo.fs.open', async (L) => {
    const p = argString(L, 1);
    const modeText = optString(L, 2) ?? 'r';
    const mode = MODES[modeText.replace('b', '')];
    if (!mode || (modeText.match(/b/g) ?? []).length > 1) throw new Error(`unsupported file mode \`${modeText}\``);
    const fh = await fsp.open(p, mode.flags, 0o666).catch((err: unknown) => fail('open', p, err));
    const file = new LuaFile(fh, mode.append, p);
    if (mode.append) file.position = Number((await fh.stat()).size);
    return (Lr) => (FILE.push(Lr, file), 1);
  });

  fs.fns({
    read_dir: readDir,
    glob,
    uncached_glob: uncachedGlob,
    metadata_for_path: metadata(true, 'metadata_for_path'),
    symlink_metadata_for_path: metadata(false, 'symlink_metadata_for_path'),
    open,
  });
  // Deprecated top-level names.
  kumo.alias('read_dir', fs, 'read_dir').alias('glob', fs, 'glob').alias('uncached_glob', fs, 'uncached_glob');
}
