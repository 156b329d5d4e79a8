// `import { createPolicyTest } from 'kumo-lua/testing'`: the compiled harness
// from dist/ when built, otherwise the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('./dist/testing/index.js', import.meta.url);
let harness;
if (existsSync(compiled) && !process.env.KUMO_LUA_FROM_SOURCE) {
  harness = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  harness = await import('./src/testing/index.ts');
}

export const { createPolicyTest, PolicyTest, runTestFiles, findTestFiles } = harness;
