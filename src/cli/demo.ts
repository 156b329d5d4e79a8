/**
 * `kumo-lua demo` (what `npm start` runs): the quickstart policy on embedded
 * defaults — a local spool, HTTP and SMTP listeners on localhost, a local MX
 * that the policy delivers to over SMTP (it writes a Maildir), and the
 * built-in sink as the webhook — then a few injected messages so the
 * Reception and Delivery records can be seen arriving.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { Kumod } from '../daemon/kumod.ts';
import { closeServer, firstSignal, listenFailure, startSink } from './sink.ts';
import { reportError } from './run-policy.ts';
import { startDemoMx } from './demo-mx.ts';

const QUICKSTART = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/quickstart/init.lua');

export interface DemoOptions {
  /** Exit once every injected message's Reception and Delivery reached the sink. */
  once: boolean;
  stateDir: string;
  httpListen: string;
  smtpListen: string;
  sinkListen: string;
  /** The local MX the quickstart relays to. */
  mxListen: string;
  timeoutMs: number;
}

async function injectOverHttp(httpListen: string, n: number): Promise<void> {
  const body = {
    envelope_sender: 'demo@example.com',
    recipients: [{ email: `user${n}@example.net` }],
    content: { subject: `kumo-lua demo message ${n} (HTTP)`, text_body: 'Hello from the kumo-lua quickstart.', headers: { 'X-Demo': 'http' } },
  };
  const res = await fetch(`http://${httpListen}/api/inject/v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`HTTP injection failed: ${res.status} ${await res.text()}`);
}

async function injectOverSmtp(smtpListen: string, n: number): Promise<void> {
  const [host, port] = smtpListen.split(':');
  const transport = nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true });
  await transport.sendMail({
    from: 'demo@example.com',
    to: `user${n}@example.net`,
    subject: `kumo-lua demo message ${n} (SMTP)`,
    text: 'Hello from the kumo-lua quickstart.',
    headers: { 'X-Demo': 'smtp' },
  });
  transport.close();
}

export async function runDemo(options: DemoOptions): Promise<number> {
  let sink: Awaited<ReturnType<typeof startSink>>;
  try {
    sink = await startSink(options.sinkListen, 200, (line) => process.stdout.write(`[sink] ${line}\n`));
  } catch (e) {
    process.stderr.write(listenFailure('kumo-lua demo: webhook sink', options.sinkListen, e) + ' (choose another with --sink HOST:PORT)\n');
    return 1;
  }
  let mx;
  try {
    mx = await startDemoMx(options.mxListen, path.join(options.stateDir, 'maildir'), (line) => process.stdout.write(`[mx] ${line}\n`));
  } catch (e) {
    reportError(`kumo-lua demo: cannot start the local MX on ${options.mxListen}: `, e);
    await closeServer(sink.server);
    return 1;
  }
  process.env.MX = `localhost:${mx.address.slice(mx.address.lastIndexOf(':') + 1)}`;
  process.env.KUMO_LUA_STATE_DIR = options.stateDir;
  process.env.WEBHOOK_URL = `http://${sink.address}/events`;
  process.env.HTTP_LISTEN = options.httpListen;
  process.env.SMTP_LISTEN = options.smtpListen;
  let kumod: Kumod;
  try {
    kumod = await Kumod.start({ policyFile: QUICKSTART, runMode: 'serve' });
  } catch (e) {
    reportError('kumo-lua demo: failed to start: ', e);
    process.stderr.write('  (a listener address in use? choose others with --http, --smtp and --sink)\n');
    await closeServer(sink.server);
    await mx.close();
    return 1;
  }
  process.stdout.write(
    `kumo-lua is running ${QUICKSTART}\n` +
      `  HTTP injection: http://${options.httpListen}/api/inject/v1   SMTP: ${options.smtpListen}   webhook sink: http://${sink.address}/events\n` +
      `  mail is relayed over SMTP to the local MX on ${mx.address} (it writes ${path.join(options.stateDir, 'maildir')})\n` +
      `  state (spool, logs, maildir): ${options.stateDir}\n`,
  );
  const expected = 4;
  let failed = false;
  try {
    await injectOverHttp(options.httpListen, 1);
    await injectOverHttp(options.httpListen, 2);
    await injectOverSmtp(options.smtpListen, 3);
    await injectOverSmtp(options.smtpListen, 4);
  } catch (e) {
    reportError('kumo-lua demo: injection failed: ', e);
    failed = true;
  }
  const done = () => (sink.stats.byType.get('Reception') ?? 0) >= expected && (sink.stats.byType.get('Delivery') ?? 0) >= expected && mx.received >= expected;
  const deadline = Date.now() + options.timeoutMs;
  while (!failed && !done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const summary = [...sink.stats.byType].map(([t, n]) => `${t}=${n}`).join(' ');
  process.stdout.write(done() ? `demo: all ${expected} messages were received and delivered (${summary})\n` : `demo: still waiting for records (${summary})\n`);
  if (options.once || failed) {
    await kumod.shutdown();
    await closeServer(sink.server);
    await mx.close();
    return done() && !failed ? 0 : 1;
  }
  process.stdout.write(`Inject more with: curl -s -H 'content-type: application/json' -d '{"envelope_sender":"a@example.com","recipients":[{"email":"b@example.net"}],"content":"Subject: hi\\r\\n\\r\\nhello"}' http://${options.httpListen}/api/inject/v1\nCtrl-C to stop.\n`);
  await firstSignal();
  await kumod.shutdown();
  await closeServer(sink.server);
    await mx.close();
  return 0;
}
