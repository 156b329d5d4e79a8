#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ when it is there (an installed package,
// or after `npm run build`): it starts in a fraction of the time. A clone without
// a build runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(compiled) && !process.env.KUMO_LUA_FROM_SOURCE) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
