import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTestFiles } from '../../src/testing/runner.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => path.join(here, 'fixtures', name);
const fullPolicy = path.resolve(here, '../../examples/full-policy');

describe('harness decisions (t.route, t.listener_domain, t.dkim_check)', () => {
  it('answer from Lua tests', async () => {
    const summary = await runTestFiles([fixture('decisions_test.lua')], { print: () => undefined }, () => undefined);
    expect(summary.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.failure}`)).toEqual([]);
    expect(summary.passed).toBe(4);
  });

  it('answer from TypeScript', async () => {
    const policy = await createPolicyTest({ policy: fixture('decisions_policy.lua'), print: () => undefined });
    try {
      const r = await policy.route({ recipient: 'u@small.example', content: 'X-Tenant: silver\r\n\r\nx\r\n' });
      expect(r).toMatchObject({ queue: 'silver@small.example', tenant: 'silver', campaign: null, routing_domain: null, queue_config: { max_age: '1 day' }, egress_paths: { unspecified: { connection_limit: 2 } } });
      const d = await policy.listenerDomain({ sender: 'a@corp.example', recipient: 'b@far.example', peer: '10.9.9.9' });
      expect(d).toMatchObject({ relay: true, accepted: true, recipient_entry: null });
      await expect(policy.route({ recipient: 'u@x.example', bogus: 1 })).rejects.toThrow(/unknown field 'bogus'/);
    } finally {
      await policy.close();
    }
  });

  it('answer from TypeScript for a policy built on policy-extras (examples/full-policy)', async () => {
    const prior = process.env.FULL_POLICY_DATA_DIR;
    process.env.FULL_POLICY_DATA_DIR = fullPolicy;
    const policy = await createPolicyTest({ policy: path.join(fullPolicy, 'init.lua'), print: () => undefined });
    try {
      const content = 'From: <news@example.com>\r\nTo: <user@gmail.test>\r\nX-Tenant: acme\r\nX-Campaign: spring\r\nSubject: hi\r\n\r\nhello\r\n';
      const r = await policy.route({ sender: 'news@example.com', recipient: 'user@gmail.test', site_name: 'gmail.test', content });
      // queue helper: tenant/campaign from headers, options composed domain < tenant < per-tenant < per-campaign
      expect(r).toMatchObject({ queue: 'spring:acme@gmail.test', tenant: 'acme', campaign: 'spring', queue_config: { max_age: '1 day', retry_interval: '5 minutes', max_message_rate: '10/s' } });
      // sources helper: acme's pool and its members; shaping helper: the path config per source
      expect(r.egress_pool).toBe('acme-pool');
      expect(r.egress_sources).toMatchObject([
        { name: 'ip-1', weight: 2, source: { source_address: '192.0.2.10' } },
        { name: 'ip-2', weight: 1, source: { source_address: '192.0.2.11' } },
      ]);
      expect(r.egress_paths).toMatchObject({ 'ip-1': { connection_limit: 5, max_message_rate: '20/s' }, 'ip-2': { connection_limit: 5 } });
      // dkim_sign helper: the signature verifies with mailauth's verifier
      const checks = await policy.dkimCheck(r.data as string, { 's1._domainkey.example.com': path.join(fullPolicy, 'dkim/example.com/s1.key') });
      expect(checks).toEqual([expect.objectContaining({ status: 'pass', domain: 'example.com', selector: 's1' })]);
      // listener_domains helper
      expect(await policy.listenerDomain({ sender: 'a@corp.example.com', recipient: 'b@gmail.test', peer: '10.2.3.4' })).toMatchObject({ relay: true });
      expect(await policy.listenerDomain({ sender: 'a@corp.example.com', recipient: 'b@gmail.test', peer: '203.0.113.9' })).toMatchObject({ relay: false, accepted: false });
      expect(await policy.listenerDomain({ sender: 'a@isp.test', recipient: 'r@fbl.example.com', peer: '203.0.113.9' })).toMatchObject({ accepted: true, log_arf: 'LogThenDrop' });
    } finally {
      await policy.close();
      if (prior === undefined) delete process.env.FULL_POLICY_DATA_DIR;
      else process.env.FULL_POLICY_DATA_DIR = prior;
    }
  });
});
