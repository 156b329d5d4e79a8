/**
 * `kumo-lua test`: finds Lua test files, runs every test in a fresh
 * environment (its own Lua state, engine, virtual clock and mocked
 * endpoints) and prints one line per test, failures with file:line and a
 * diff, then `N passed, N failed`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LuaError } from '../lua/errors.ts';
import { TestEnvironment, type TestEnvironmentOptions } from './environment.ts';

export interface TestResult {
  file: string;
  name: string;
  ok: boolean;
  /** Failure text: message with file:line, diff, traceback. */
  failure?: string;
  durationMs: number;
}

export interface RunSummary {
  results: TestResult[];
  passed: number;
  failed: number;
}

const TEST_FILE = /(_test|_spec)\.lua$/;

/** Expands directories into the *_test.lua / *_spec.lua files below them. */
export function findTestFiles(inputs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) {
        if (entry === 'node_modules' || entry.startsWith('.')) continue;
        const child = path.join(p, entry);
        if (fs.statSync(child).isDirectory() || TEST_FILE.test(entry)) walk(child);
      }
    } else out.push(p);
  };
  for (const input of inputs.length > 0 ? inputs : ['.']) walk(input);
  return out;
}

function describeFailure(e: unknown): string {
  if (e instanceof LuaError) {
    // Assertion failures carry their own position and diff; the traceback adds little.
    const noise = ['kumo-lua/testing.lua', '[C]', '[JS]', '(...tail calls...)', '(...tail calls..)'];
    const frames = e.luaTraceback.split('\n').filter((l) => !noise.some((n) => l.includes(n)));
    return frames.length > 1 ? `${e.message}\n${frames.join('\n')}` : e.message;
  }
  return e instanceof Error ? e.stack ?? e.message : String(e);
}

async function runOne(file: string, index: number, name: string, options: TestEnvironmentOptions): Promise<TestResult> {
  const started = Date.now();
  const env = await TestEnvironment.create(file, options);
  try {
    await env.loadTestFile();
    await env.runTest(index);
    return { file, name, ok: true, durationMs: Date.now() - started };
  } catch (e) {
    return { file, name, ok: false, failure: describeFailure(e), durationMs: Date.now() - started };
  } finally {
    await env.dispose();
  }
}

/** Loads a file once to learn its test names. */
async function discoverTests(file: string, options: TestEnvironmentOptions): Promise<string[]> {
  const env = await TestEnvironment.create(file, options);
  try {
    await env.loadTestFile();
    return env.testNames();
  } finally {
    await env.dispose();
  }
}

export async function runTestFiles(files: readonly string[], options: TestEnvironmentOptions, report: (line: string) => void): Promise<RunSummary> {
  const results: TestResult[] = [];
  for (const file of files) {
    let names: string[];
    try {
      names = await discoverTests(file, options);
    } catch (e) {
      const result: TestResult = { file, name: '(loading the test file)', ok: false, failure: describeFailure(e), durationMs: 0 };
      results.push(result);
      report(`FAIL ${file}: ${result.name}\n${indent(result.failure!)}`);
      continue;
    }
    if (names.length === 0) report(`---- ${file}: no tests declared (use t.test(name, fn))`);
    for (let i = 0; i < names.length; i++) {
      const result = await runOne(file, i, names[i]!, options);
      results.push(result);
      report(result.ok ? `ok   ${file}: ${result.name} (${result.durationMs}ms)` : `FAIL ${file}: ${result.name}\n${indent(result.failure!)}`);
    }
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  report(`${passed} passed, ${failed} failed`);
  return { results, passed, failed };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
