// `import { createPolicyTest } from 'kumo-lua/testing'`: the compiled harness
// from dist/ when built and up to date, otherwise the TypeScript sources through tsx.
import { compiledEntry } from './bin/compiled.mjs';

const compiled = compiledEntry('dist/testing/index.js');
let harness;
if (compiled) {
  harness = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  harness = await import('./src/testing/index.ts');
}

export const { createPolicyTest, PolicyTest, runTestFiles, findTestFiles } = harness;
