import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTestFiles } from '../../src/testing/runner.ts';
import { createPolicyTest } from '../../src/testing/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => path.join(here, 'fixtures', name);

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
});
