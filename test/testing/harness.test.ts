import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTestFiles } from '../../src/testing/runner.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const fixture = (name: string) => path.join(here, 'fixtures', name);

describe('kumo-lua test (Lua tests)', () => {
  it('runs each test in a fresh environment and reports failures with file:line and a diff', async () => {
    const lines: string[] = [];
    const summary = await runTestFiles([fixture('mixed_test.lua')], { print: () => undefined }, (l) => lines.push(l));
    expect(summary.results.map((r) => [r.name, r.ok])).toEqual([
      ['posts through kumo.http to a mocked endpoint', true],
      ['a deliberately failing comparison', false],
      ['scripted connection errors and virtual delays', true],
    ]);
    const failure = summary.results[1]!.failure!;
    expect(failure).toContain('mixed_test.lua:15: expected values to be equal');
    expect(failure).toMatch(/- +"code": 200,\n.*\+ +"code": 250,/);
    expect(lines.at(-1)).toBe('2 passed, 1 failed');
  });

  it('keeps virtual time still while the test injects, and writes nothing outside its temp dir', async () => {
    const summary = await runTestFiles([fixture('time_test.lua')], { print: () => undefined }, () => undefined);
    expect(summary.results.filter((r) => !r.ok).map((r) => r.failure)).toEqual([]);
    expect(summary.passed).toBe(2);
  });

  it('records Kafka and AMQP publishes with their virtual time and connection reuse', async () => {
    const summary = await runTestFiles([fixture('brokers_test.lua')], { print: () => undefined }, () => undefined);
    expect(summary.results.filter((r) => !r.ok).map((r) => r.failure)).toEqual([]);
    expect(summary.passed).toBe(2);
  });

  it('exits non-zero from the command line when a test fails', () => {
    const run = spawnSync(process.execPath, [path.join(root, 'bin/kumo-lua.mjs'), 'test', fixture('mixed_test.lua')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('FAIL');
    expect(run.stdout.trim().split('\n').at(-1)).toBe('2 passed, 1 failed');
  });
});

describe('createPolicyTest (TypeScript)', () => {
  it('runs the quickstart: injected mail produces Reception and Delivery at the webhook', async () => {
    const policy = await createPolicyTest({ policy: path.join(root, 'examples/quickstart/init.lua'), print: () => undefined });
    try {
      const hook = policy.http('http://127.0.0.1:4242/events');
      const mx = await policy.smtp('localhost');
      const response = await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'b@example.net' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
      expect(response).toMatchObject({ success_count: 1, fail_count: 0 });
      expect(await policy.runUntilIdle('1h')).toBe(true);
      const records = hook.requests.map((r) => JSON.parse(new TextDecoder().decode(r.body)));
      expect(records.map((r) => r.type)).toEqual(['Reception', 'Delivery']);
      expect(records[0].headers.Subject).toBe('hi');
      expect(policy.records('Delivery').map((r) => r.delivery_protocol).sort()).toEqual(['ESMTP', 'Lua', 'Lua']);
      expect(mx.delivered().map((t) => t.recipients)).toEqual([['b@example.net']]);
    } finally {
      await policy.close();
    }
  });

  it('retries a failing webhook on the virtual clock and loses nothing', async () => {
    const policy = await createPolicyTest({ policy: path.join(root, 'examples/quickstart/init.lua'), print: () => undefined });
    try {
      const hook = policy.http('http://127.0.0.1:4242/events');
      hook.respond({ status: 503, body: 'maintenance' });
      await policy.smtp('localhost');
      await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'b@example.net' }], content: 'Subject: hi\r\n\r\nhello\r\n' });
      await policy.advance('30m');
      const attemptsWhileDown = hook.requests.length;
      expect(attemptsWhileDown).toBeGreaterThanOrEqual(4);
      expect(policy.records('TransientFailure').length).toBeGreaterThanOrEqual(4);
      hook.respond({ status: 200 });
      expect(await policy.runUntilIdle('2h')).toBe(true);
      const delivered = hook.requests.slice(attemptsWhileDown).map((r) => JSON.parse(new TextDecoder().decode(r.body)).type);
      expect(delivered.sort()).toEqual(['Delivery', 'Reception']);
    } finally {
      await policy.close();
    }
  });
});
