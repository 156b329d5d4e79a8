/**
 * Policies for bounce-classification tests: spools, optionally
 * `kumo.configure_bounce_classifier` over the given rules, then the caller's
 * routing handlers. One file per variant, so a test can compare the same
 * routing with and without a classifier.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function useClassifierPolicies(prefix: string, rulesToml: string, routingLua: string): (withClassifier: boolean) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, 'rules.toml');
  writeFileSync(rules, rulesToml);
  return (withClassifier) => {
    const path = join(dir, `init-${withClassifier}.lua`);
    writeFileSync(path, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '${dir}/spool-${withClassifier}/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool-${withClassifier}/meta' }
  ${withClassifier ? `kumo.configure_bounce_classifier { files = { '${rules}' } }` : ''}
end)
${routingLua}
`);
    return path;
  };
}
