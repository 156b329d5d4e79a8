/**
 * MTA-STS in delivery (smtp-delivery.md §1.4, §3.4): the policies come from
 * src/dns (what `kumo.dns.configure_test_mta_sts` installs; fetching over
 * HTTPS is not provided). Enforce prunes MX hosts before the site name and
 * the plan, or fails resolution; the mode overrides `enable_tls`.
 */
import { describe, expect, it } from 'vitest';
import { parseMtaStsPolicy } from '../../../src/dns/mta-sts.ts';
import type { TestEngine } from '../../helpers/engine.ts';
import { mail, view, waitRecords, smtpFixtures } from './engine.ts';
import { MemoryResolver } from './memory-resolver.ts';

const f = smtpFixtures();
let engine: TestEngine;

function resolver(policies: Record<string, string>): MemoryResolver {
  const r = new MemoryResolver(
    { 'sts.example': [['mx1.sts.example.'], ['backup.other.example.']] },
    { 'mx1.sts.example': ['127.0.0.1'], 'backup.other.example': ['127.0.0.1'] },
  );
  r.dnsService.setTestMtaSts(new Map(Object.entries(policies).map(([d, text]) => [d, parseMtaStsPolicy(text, d)])));
  return r;
}

const policy = (mode: string, ...mx: string[]) => ['version: STSv1', `mode: ${mode}`, 'max_age: 86400', ...mx.map((m) => `mx: ${m}`)].join('\n');

describe('MTA-STS enforce (§1.4, checklist 21)', () => {
  it('hosts the policy does not match leave the site and the plan', async () => {
    const m = await f.mx({ starttls: false });
    const r = resolver({ 'sts.example': policy('none', 'mx1.sts.example') });
    // Without enforce both hosts count (site with the backup); with it only mx1 remains.
    expect((await r.resolveMx('sts.example')).buckets).toEqual([['mx1.sts.example.'], ['backup.other.example.']]);
    const enforced = resolver({ 'sts.example': policy('enforce', 'mx1.sts.example') });
    expect((await enforced.resolveMx('sts.example')).buckets).toEqual([['mx1.sts.example.']]);
    // enable_mta_sts = false keeps the configured TLS policy (Enforce would demand STARTTLS, which this MX lacks).
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port, enable_mta_sts: false }, services: { resolver: enforced } });
    await engine.manager.insert(mail(['a@sts.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({ type: 'Delivery', site: 'unspecified->mx1.sts.example@smtp_client', peer: { name: 'mx1.sts.example.', addr: '127.0.0.1' } });
  });

  it('a policy matching none of the MX hosts fails resolution with a retried 451 4.4.4', async () => {
    const r = resolver({ 'sts.example': policy('enforce', '*.elsewhere.example') });
    engine = await f.engine(null, { smtp: {}, services: { resolver: r } });
    await engine.manager.insert(mail(['a@sts.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(view(ev!)).toMatchObject({
      type: 'TransientFailure', code: 451, site: '',
      content: 'failed to resolve queue sts.example: MTA-STS enforce policy for sts.example permits none of its MX hosts ["mx1.sts.example.", "backup.other.example."]; allowed mx patterns: ["*.elsewhere.example"]. The destination is undeliverable until its MTA-STS policy is corrected.',
    });
  });
});

describe('MTA-STS mode and enable_tls (§3.4, checklist 34)', () => {
  it('testing turns Required into OpportunisticInsecure: a self-signed certificate is accepted', async () => {
    const m = await f.mx();
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port, enable_tls: 'Required' }, services: { resolver: resolver({ 'sts.example': policy('testing', 'mx1.sts.example') }) } });
    await engine.manager.insert(mail(['a@sts.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('Delivery');
    expect(ev!.tls).toMatchObject({ protocolVersion: 'TLSv1.3' });
  });

  it('enforce turns Disabled into Required (verified: the self-signed certificate fails); enable_mta_sts = false keeps Disabled', async () => {
    const m = await f.mx();
    const r = resolver({ 'sts.example': policy('enforce', 'mx1.sts.example') });
    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port, enable_tls: 'Disabled' }, services: { resolver: r } });
    await engine.manager.insert(mail(['a@sts.example'], { clock: engine.clock }));
    const [ev] = await waitRecords(engine, 1);
    expect(ev!.type).toBe('TransientFailure');
    expect(ev!.response.content).toMatch(/^KumoMTA internal: failed to connect to any candidate hosts: TLS handshake with ResolvedAddress \{ name: "mx1\.sts\.example\.", addr: 127\.0\.0\.1, is_secure: false \}:\d+ failed: /);
    expect(m.transactions).toHaveLength(0);

    engine = await f.engine(null, { smtp: {}, path: { smtp_port: m.port, enable_tls: 'Disabled', enable_mta_sts: false }, services: { resolver: r } });
    await engine.manager.insert(mail(['a@sts.example'], { clock: engine.clock }));
    const [plain] = await waitRecords(engine, 1);
    expect(plain!.type).toBe('Delivery');
    expect(plain!.tls).toBeUndefined();
  });
});
