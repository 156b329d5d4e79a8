#!/usr/bin/env bash
# Packaging check: `npm pack`, install the tarball into an empty directory
# (not the clone), and run the installed CLI there on the quickstart policy
# and on a user policy that requires our policy-extras. Catches files missing
# from package.json "files" and paths that only resolve inside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kumo-lua-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== npm pack"
tarball=$(npm pack --silent --pack-destination "$work" | tail -1)
listing=$(tar -tzf "$work/$tarball")
grep -E '^package/(test|bench|\.ci)/' <<<"$listing" && { echo "pack-check: the tarball ships development files"; exit 1; }
for f in dist/cli/main.js dist/testing/index.js dist/pool/worker-main.js; do
  grep -qx "package/$f" <<<"$listing" || { echo "pack-check: the tarball has no compiled $f (prepare build)"; exit 1; }
done

echo "== install $tarball into an empty directory"
mkdir "$work/app"
cd "$work/app"
echo '{ "name": "pack-check", "version": "1.0.0", "private": true }' > package.json
# --prefer-offline: the npm cache filled by `npm ci` answers almost everything.
# --ignore-scripts + copying the clone's native builds (same Node, same
# machine) keeps this to seconds instead of compiling sqlite and zstd again.
npm install --prefer-offline --ignore-scripts --no-audit --no-fund "$work/$tarball" >/dev/null
for native in better-sqlite3 zstd-napi; do
  cp -r "$repo/node_modules/$native/build" "node_modules/$native/"
done

echo "== npx kumo-lua --validate (installed copy, outside the clone, compiled JavaScript)"
time npx --no-install kumo-lua --validate node_modules/kumo-lua/examples/quickstart/init.lua
# The installed CLI must run the bundle, not fall back to tsx (which would hide a broken build).
node --input-type=module -e "const m = await import('./node_modules/kumo-lua/bin/compiled.mjs'); if (!m.compiledEntry('dist/cli/main.js')) { console.error('pack-check: the installed CLI would not use dist/'); process.exit(1); }"
cat > init.lua <<'LUA'
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'webhook', url = 'http://127.0.0.1:9/hook' }
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = 'state/data' }
  kumo.define_spool { name = 'meta', path = 'state/meta' }
end)
LUA
npx --no-install kumo-lua --validate init.lua
node --input-type=module -e "import('kumo-lua/testing').then((m) => { if (typeof m.createPolicyTest !== 'function') process.exit(1); console.log('kumo-lua/testing: OK'); })"
echo "== pack-check passed"
