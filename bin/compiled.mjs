// Which code the CLI and `kumo-lua/testing` run: the compiled bundle in dist/
// (built by `npm run build`, which `npm install`/`npm ci` in a clone and
// `npm pack` run through `prepare`) when it is there and not older than any
// file under src/; otherwise the TypeScript sources through tsx, so an edit in
// a clone is live at once and never shadowed by stale output.
// KUMO_LUA_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);

/** The URL of `relPath` under the package root when the compiled code may be used, else null. */
export function compiledEntry(relPath, root = ROOT) {
  const entry = new URL(relPath, root);
  if (process.env.KUMO_LUA_FROM_SOURCE || !existsSync(entry)) return null;
  const builtAt = statSync(entry).mtimeMs;
  const src = new URL('src/', root);
  // Only a clone (it has .git) can have edited sources; an installed package skips the scan.
  if (existsSync(new URL('.git', root)) && existsSync(src)) {
    for (const name of readdirSync(src, { recursive: true })) {
      if (statSync(new URL(name, src)).mtimeMs > builtAt) return null;
    }
  }
  return entry;
}
