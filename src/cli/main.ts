/**
 * `kumo-lua` command line. Modes mirror kumod: run a policy as a daemon,
 * `--script` (fire `main` and exit), `--validate`; plus `test` (the policy
 * test harness) and `sink` (a receiver that prints records).
 */
import { Command, CommanderError } from 'commander';
// Each command's module is imported when that command runs: `run --validate`
// does not load the test harness, the sink or the demo (nor their packages).
import { KUMO_LUA_VERSION } from '../kumo/diagnostics.ts';
import { STRICT_ENV } from '../lua/stdlib-os.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command();
  program
    .name('kumo-lua')
    .description('Run KumoMTA Lua policies (log hooks, webhooks, Kafka, AMQP) on Node.js')
    .version(KUMO_LUA_VERSION)
    .exitOverride();

  program
    .command('run', { isDefault: true })
    .description('run a policy: as a daemon (default), with --script, or with --validate')
    .argument('[policy]', 'the policy file (init.lua)')
    .option('--policy <file>', 'the policy file (same as the positional argument)')
    .option('--lua-path <dir>', 'directory searched by require before the policy directory (repeatable)', collect, [])
    .option('--script', 'load the policy, fire `main`, exit when it returns')
    .option('--validate', 'load the policy and run pre_init, init and validate_config without starting anything')
    .option('--strict', 'turn off file and process access from Lua (io.open, io.popen, os.execute, ...); same as KUMO_LUA_STRICT=1')
    .option('--lua-threads <n>', 'run custom_lua connections and the log-hook filter on N more Lua states on worker threads (default 0: all Lua on the main thread); with --validate, check that each loads the policy', '0')
    .argument('[args...]', 'arguments passed to `main` in --script mode (after --)')
    .action(async (policy: string | undefined, args: string[], opts: { policy?: string; luaPath: string[]; script?: boolean; validate?: boolean; strict?: boolean; luaThreads: string }) => {
      if (opts.strict) process.env[STRICT_ENV] = '1';
      const luaThreads = Number(opts.luaThreads);
      if (!Number.isInteger(luaThreads) || luaThreads < 0) {
        process.stderr.write(`kumo-lua: --lua-threads: expected a whole number of threads, got '${opts.luaThreads}'\n`);
        exitCode = 2;
        return;
      }
      const { runPolicyCommand } = await import('./run-policy.ts');
      exitCode = await runPolicyCommand({ policyFile: opts.policy ?? policy, luaPaths: opts.luaPath, script: !!opts.script, validate: !!opts.validate, scriptArgs: args, luaThreads });
    });

  program
    .command('test')
    .description('run Lua policy tests (files named *_test.lua or given explicitly) with mocked endpoints and a virtual clock')
    .argument('[files...]', 'test files or directories (default: current directory)')
    .option('--lua-path <dir>', 'directory searched by require (repeatable)', collect, [])
    .action(async (files: string[], opts: { luaPath: string[] }) => {
      const { runTestCommand } = await import('./test-command.ts');
      exitCode = await runTestCommand(files, opts.luaPath);
    });

  program
    .command('sink')
    .description('receive webhook POSTs and print each log record on one line, with running counts')
    .option('--listen <addr>', 'host:port to listen on', '127.0.0.1:4242')
    .option('--status <code>', 'HTTP status to answer with', '200')
    .action(async (opts: { listen: string; status: string }) => {
      const { runSinkCommand } = await import('./sink.ts');
      exitCode = await runSinkCommand(opts.listen, Number(opts.status));
    });

  program
    .command('demo')
    .description('run the quickstart policy with a local spool, listeners, a local MX (Maildir) and sink, and inject a few messages')
    .option('--once', 'exit when the injected messages have been received and delivered')
    .option('--state-dir <dir>', 'where the spool, logs and Maildir live', '.kumo-lua/quickstart')
    .option('--http <addr>', 'HTTP listener', '127.0.0.1:8000')
    .option('--smtp <addr>', 'SMTP listener', '127.0.0.1:2525')
    .option('--sink <addr>', 'webhook sink', '127.0.0.1:4242')
    .option('--mx <addr>', 'the local MX mail is relayed to', '127.0.0.1:2526')
    .action(async (opts: { once?: boolean; stateDir: string; http: string; smtp: string; sink: string; mx: string }) => {
      const { runDemo } = await import('./demo.ts');
      exitCode = await runDemo({ once: !!opts.once, stateDir: opts.stateDir, httpListen: opts.http, smtpListen: opts.smtp, sinkListen: opts.sink, mxListen: opts.mx, timeoutMs: 30_000 });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return exitCode;
}
