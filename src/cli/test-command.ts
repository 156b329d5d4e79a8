/** `kumo-lua test [FILES...]`: the policy test harness. */
import { findTestFiles, runTestFiles } from '../testing/runner.ts';
import { luaPathsFromEnv } from '../policy/create.ts';

export async function runTestCommand(files: string[], luaPaths: string[]): Promise<number> {
  const found = findTestFiles(files);
  if (found.length === 0) {
    process.stderr.write('kumo-lua test: no test files found (*_test.lua or *_spec.lua)\n');
    return 1;
  }
  const summary = await runTestFiles(found, { luaPaths: [...luaPaths, ...luaPathsFromEnv()] }, (line) => process.stdout.write(line + '\n'));
  return summary.failed > 0 ? 1 : 0;
}
