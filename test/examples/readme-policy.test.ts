/**
 * The README's "Writing a policy" example delivers real mail to a local MX:
 * its code, taken from README.md, runs in the policy harness with the MX
 * port swapped for a real smtp-server (MockMx, STARTTLS with a self-signed
 * certificate) on 127.0.0.1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPolicyTest } from '../../src/testing/index.ts';
import { MockMx } from '../../src/testing/mock-mx.ts';
import { REPO_ROOT } from '../helpers/daemon.ts';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("README's policy example", () => {
  it('delivers over SMTP (STARTTLS) to a local MX', async () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const code = /```lua\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Writing a policy')))![1]!;
    expect(code).toContain("'127.0.0.1:2526'");
    const mx = await new MockMx({ hostname: 'mx.local.test' }).start();
    cleanup.push(() => mx.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-policy-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'init.lua');
    fs.writeFileSync(file, code.replace("'127.0.0.1:2526'", `'127.0.0.1:${mx.port}'`));
    const policy = await createPolicyTest({ policy: file, print: () => undefined });
    cleanup.push(() => policy.close());
    policy.http('https://events.example.com/kumo');
    await policy.inject({ envelope_sender: 'a@example.com', recipients: [{ email: 'b@example.net' }], content: 'Subject: readme\r\n\r\nhello\r\n' });
    expect(await policy.runUntilIdle('1h')).toBe(true);
    const smtp = policy.records('Delivery').filter((r) => r.delivery_protocol === 'ESMTP');
    expect(smtp).toHaveLength(1);
    expect(smtp[0]).toMatchObject({ recipient: 'b@example.net', site: `unspecified->mx_list:127.0.0.1:${mx.port}@smtp_client`, tls_protocol_version: 'TLSv1.3' });
    expect(mx.delivered().map((t) => [t.recipients, t.tls])).toEqual([[['b@example.net'], true]]);
  });
});
