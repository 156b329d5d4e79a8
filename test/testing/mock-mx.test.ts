/** The harness's mock MX from TypeScript: createPolicyTest().smtp(name). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPolicyTest, type PolicyTest } from '../../src/testing/index.ts';

let pt: PolicyTest | null = null;
let dir = '';
afterEach(async () => {
  await pt?.close();
  pt = null;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const POLICY = `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/tmp/unused/data' }
  kumo.define_spool { name = 'meta', path = '/tmp/unused/meta' }
end)
kumo.on('get_queue_config', function() return kumo.make_queue_config { retry_interval = '10m' } end)
`;

async function policyTest(): Promise<PolicyTest> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockmx-'));
  fs.writeFileSync(path.join(dir, 'init.lua'), POLICY);
  return createPolicyTest({ policy: path.join(dir, 'init.lua'), print: () => {} });
}

const message = (to: string) => ({ envelope_sender: 'a@example.com', recipients: [{ email: to }], content: 'Subject: hi\r\n\r\nhello\r\n' });

describe('PolicyTest.smtp', () => {
  it('delivers to the mock MX by MX resolution; defaults keep prohibited_hosts', async () => {
    pt = await policyTest();
    const mx = await pt.smtp('example.net');
    await pt.inject(message('b@example.net'));
    expect(await pt.runUntilIdle('1h')).toBe(true);
    expect(mx.delivered().map((t) => t.recipients)).toEqual([['b@example.net']]);
    const [d] = pt.records('Delivery');
    expect(d).toMatchObject({ site: 'unspecified->example.net@smtp_client', delivery_protocol: 'ESMTP', peer_address: { name: 'example.net.', addr: '192.0.2.1' } });
  });

  it('a deferral then acceptance: TransientFailure, then Delivery after the retry interval', async () => {
    pt = await policyTest();
    const mx = await pt.smtp('example.net');
    mx.onRcpt = () => ({ code: 451, text: '4.7.1 later' });
    await pt.inject(message('b@example.net'));
    await pt.advance('1m');
    expect(pt.records('TransientFailure').map((r) => (r.response as { code: number }).code)).toEqual([451]);
    mx.onRcpt = () => null;
    expect(await pt.runUntilIdle('1h')).toBe(true);
    expect(pt.records('Delivery')).toHaveLength(1);
  });

  it('an unknown domain does not reach real DNS: 451 failed to resolve queue', async () => {
    pt = await policyTest();
    await pt.inject(message('b@nowhere.example'));
    await pt.advance('1s');
    const [tf] = pt.records('TransientFailure');
    expect((tf!.response as { content: string }).content).toBe("failed to resolve queue nowhere.example: MX lookup for nowhere.example. failed: no mock MX (the test has no t.smtp('nowhere.example'))");
  });
});
