/** bin/compiled.mjs: when the CLI and kumo-lua/testing run dist/ and when they fall back to the sources. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs without type declarations
import { compiledEntry } from '../../bin/compiled.mjs';

const entryOf = compiledEntry as (rel: string, root?: URL) => URL | null;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  delete process.env.KUMO_LUA_FROM_SOURCE;
});

/** A package root with src/a/b.ts and dist/cli/main.js, the source `srcAgeS` seconds older than the build. */
function pkg(opts: { git: boolean; srcAgeS: number }): URL {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-compiled-'));
  dirs.push(root);
  fs.mkdirSync(path.join(root, 'src/a'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src/a/b.ts'), '');
  fs.writeFileSync(path.join(root, 'dist/cli/main.js'), '');
  if (opts.git) fs.mkdirSync(path.join(root, '.git'));
  const built = new Date(Date.now() + 3_600_000); // later than the directories just made
  fs.utimesSync(path.join(root, 'dist/cli/main.js'), built, built);
  const src = new Date(built.getTime() - opts.srcAgeS * 1000);
  fs.utimesSync(path.join(root, 'src/a/b.ts'), src, src);
  return pathToFileURL(root + '/');
}

describe('compiledEntry', () => {
  it('a clone whose build is newer than every source uses dist/', () => {
    const root = pkg({ git: true, srcAgeS: 60 });
    expect(entryOf('dist/cli/main.js', root)?.href).toBe(new URL('dist/cli/main.js', root).href);
  });

  it('a clone with a source edited after the build runs the sources', () => {
    expect(entryOf('dist/cli/main.js', pkg({ git: true, srcAgeS: -60 }))).toBeNull();
  });

  it('an installed package (no .git) uses dist/ without comparing times', () => {
    expect(entryOf('dist/cli/main.js', pkg({ git: false, srcAgeS: -60 }))).not.toBeNull();
  });

  it('no dist/, or KUMO_LUA_FROM_SOURCE: the sources', () => {
    const root = pkg({ git: true, srcAgeS: 60 });
    expect(entryOf('dist/testing/index.js', root)).toBeNull();
    process.env.KUMO_LUA_FROM_SOURCE = '1';
    expect(entryOf('dist/cli/main.js', root)).toBeNull();
  });
});
