/**
 * Every example under examples/ ships Lua tests (`*_test.lua`) that double as
 * documentation. Running them here keeps them from rotting: a change to the
 * runtime, the harness or policy-extras that breaks an example fails CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTestFiles, runTestFiles, type TestResult } from '../../src/testing/runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const examplesDir = path.join(root, 'examples');

const exampleDirs = fs
  .readdirSync(examplesDir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

function describeFailures(results: readonly TestResult[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `FAIL ${path.relative(root, r.file)}: ${r.name}\n${r.failure ?? ''}`)
    .join('\n\n');
}

describe('examples', () => {
  it('every example directory has an init.lua and at least one *_test.lua', () => {
    expect(exampleDirs.length).toBeGreaterThanOrEqual(6);
    for (const dir of exampleDirs) {
      const full = path.join(examplesDir, dir);
      expect(fs.existsSync(path.join(full, 'init.lua')), `${dir}/init.lua`).toBe(true);
      expect(findTestFiles([full]).length, `${dir} has no *_test.lua`).toBeGreaterThan(0);
    }
  });

  for (const dir of exampleDirs) {
    it(`${dir}: every Lua test passes`, async () => {
      const files = findTestFiles([path.join(examplesDir, dir)]);
      const summary = await runTestFiles(files, { print: () => undefined }, () => undefined);
      expect(summary.results.length, `no tests ran in examples/${dir}`).toBeGreaterThan(0);
      expect(summary.failed, describeFailures(summary.results)).toBe(0);
      expect(summary.passed).toBe(summary.results.length);
    }, 120_000);
  }
});
