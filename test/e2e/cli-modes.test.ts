/**
 * The command line as a user runs it (spawned `node bin/kumo-lua.mjs`):
 * --validate, --script with arguments after `--`, and the daemon shutting
 * down cleanly on SIGTERM with a send in flight.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { injectHttp, makeStateDir, maildirWebhookPolicy, runCli, spawnCli, usePolicyDir, waitUntil } from '../helpers/daemon.ts';
import { readSegments, recordLines } from '../helpers/segments.ts';
import { WebhookSink } from '../helpers/webhook-sink.ts';

const DEADLINE_MS = 60_000;
const policies = usePolicyDir('kumo-e2e-cli-');
const policyFile = policies.policyFile;

describe.concurrent('kumo-lua --validate', () => {
  it('a good policy: exit 0, "<file>: OK", nothing started', async () => {
    const file = policyFile('good.lua', [
      "local kumo = require 'kumo'",
      "kumo.on('init', function()",
      `  kumo.define_spool { name = 'data', path = '${policies.dir}/never-created' }`,
      "  kumo.start_http_listener { listen = '127.0.0.1:0' }",
      'end)',
    ]);
    const r = await runCli(['--validate', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: OK\n`);
    expect(fs.existsSync(path.join(policies.dir, 'never-created'))).toBe(false);
  });

  it('a syntax error: exit 1, file:line and the parser message', async () => {
    const file = policyFile('syntax.lua', ["local kumo = require 'kumo'", "kumo.on('init', function(", '  x = = 1', 'end)']);
    const r = await runCli(['--validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3:`);
    expect(r.stderr).toMatch(/expected near '='/);
  });

  it('a runtime error in init: exit 1, file:line and a traceback through the calling frames', async () => {
    const file = policyFile('runtime.lua', [
      "local kumo = require 'kumo'",
      'local function check_config()',
      "  error('the relay list is empty')",
      'end',
      "kumo.on('init', function()",
      '  check_config()',
      'end)',
    ]);
    const r = await runCli(['--validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: the relay list is empty`);
    expect(r.stderr).toContain('stack traceback:');
    expect(r.stderr).toContain(`${file}:3: in`);
    expect(r.stderr).toContain(`${file}:6: in`);
  });

  it('kumo.validation_failed() in validate_config: exit 1, "Validation failed"', async () => {
    const file = policyFile('invalid.lua', [
      "local kumo = require 'kumo'",
      "kumo.on('validate_config', function()",
      "  kumo.log_error('tenant table has a duplicate entry')",
      '  kumo.validation_failed()',
      'end)',
    ]);
    const r = await runCli(['--validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tenant table has a duplicate entry');
    expect(r.stderr).toContain('Validation failed');
    expect(r.stdout).not.toContain('OK');
  });
});

describe.concurrent('kumo-lua --script', () => {
  it('fires main with the arguments after -- and prints to stdout', async () => {
    const file = policyFile('script.lua', [
      "local kumo = require 'kumo'",
      "kumo.on('main', function(...)",
      "  print('argc', select('#', ...))",
      '  for i, a in ipairs({...}) do print(i, a) end',
      'end)',
    ]);
    const r = await runCli(['--script', file, '--', 'alpha', 'two words', '--not-an-option']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('argc\t3\n1\talpha\n2\ttwo words\n3\t--not-an-option\n');
  });

  it('an error in main: exit 1 with file:line', async () => {
    const file = policyFile('script-fail.lua', ["local kumo = require 'kumo'", "kumo.on('main', function()", "  error('no input given')", 'end)']);
    const r = await runCli(['--script', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: no input given`);
  });
});

describe('kumo-lua <policy> (daemon mode)', () => {
  it('SIGTERM with a webhook send in flight: the send completes and is logged, undelivered records stay spooled, spool closed, exit 0', async () => {
    const sink = await WebhookSink.start({ respond: { status: 200, delayMs: 1500 } });
    const state = makeStateDir('kumo-e2e-sigterm-');
    try {
      const file = path.join(state, 'policy.lua');
      fs.writeFileSync(file, maildirWebhookPolicy({ webhookUrl: `${sink.url}/events` })(state));
      const proc = spawnCli([file]);
      const m = await proc.waitForOutput(/http listener on (127\.0\.0\.1:\d+)/, 'stderr', DEADLINE_MS);
      await proc.waitForOutput(/spool .*requeued/, 'stderr', DEADLINE_MS);
      const res = await injectHttp(`http://${m[1]}`, { envelope_sender: 'a@example.com', recipients: [{ email: 'b@example.net' }], content: { subject: 'sigterm', text_body: 'x' } });
      expect(res.status).toBe(200);
      await waitUntil(() => sink.requests.length >= 1, 'a webhook send in flight', DEADLINE_MS);

      proc.child.kill('SIGTERM');
      const exit = await proc.exited;
      expect(proc.stderr()).toContain('SIGTERM received, shutting down');
      expect(exit).toEqual({ code: 0, signal: null });

      // Every request the collector answered was logged as a Delivery of a hook message.
      const records = (await readSegments(path.join(state, 'logs'))).flatMap((s) => recordLines(s.text));
      const hookDeliveries = records.filter((r) => r.type === 'Delivery' && r.queue === 'webhook.log_hook');
      expect(hookDeliveries.length).toBe(sink.requests.length);
      expect(records.filter((r) => r.type === 'Delivery' && r.delivery_protocol === 'Maildir')).toHaveLength(1);

      // The spool was closed (WAL checkpointed and removed) and holds exactly the hook records not yet delivered.
      const spoolDir = path.join(state, 'spool', 'meta');
      expect(fs.readdirSync(spoolDir).filter((f) => f.endsWith('-wal'))).toEqual([]);
      const db = new Database(path.join(spoolDir, 'kumo-lua-spool.sqlite'), { readonly: true });
      const rows = db.prepare('SELECT queue FROM messages').all() as { queue: string }[];
      db.close();
      expect(rows.every((r) => r.queue === 'webhook.log_hook')).toBe(true);
      expect(rows.length + hookDeliveries.length).toBe(2);
    } finally {
      await sink.close();
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 2 * DEADLINE_MS);
});
