// `import { createPolicyTest } from 'kumo-lua/testing'`: kumo-lua ships
// TypeScript sources, so this entry registers tsx before loading them.
import { register } from 'tsx/esm/api';

register();
const harness = await import('./src/testing/index.ts');

export const { createPolicyTest, PolicyTest, runTestFiles, findTestFiles } = harness;
