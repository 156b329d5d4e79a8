// `npm run build` (run by `prepare`: `npm install`/`npm ci` in a clone, and
// `npm pack`): bundles the CLI and the policy test harness into dist/ with
// esbuild, so the installed CLI loads a handful of files instead of ~300
// modules plus every dependency's tree. Native addons stay external (they load
// their .node files), as does tsx (the source-mode fallback). Packages that
// only some policies use (mailauth, kafkajs, amqplib, undici, ...) are
// required lazily at run time from node_modules (src/util/lazy-require.ts).
//
// Layout: dist/cli/main.js, dist/testing/index.js and dist/chunks/*.js are all
// two levels below the package root, like src/<dir>/<file>.ts, so the
// `../../lua` and `../../examples` paths that src derives from import.meta.url
// hold for the compiled code too.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // src/pool/worker-main.ts: the entry of each --lua-threads worker thread.
  entryPoints: ['src/cli/main.ts', 'src/testing/index.ts', 'src/pool/worker-main.ts'],
  outdir: 'dist',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'zstd-napi', 'tsx'],
  // Bundled CommonJS code calls require() for Node built-ins; ESM output has none.
  banner: { js: "import { createRequire as __kumoLuaCreateRequire } from 'node:module'; const require = __kumoLuaCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
