/**
 * HTTP injection (POST /api/inject/v1 with fetch) → Maildir, with every record
 * published to a real webhook by policy-extras.log_hooks.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { injectHttp, maildirMessages, useMaildirWebhookDaemon, type WebhookRecord } from '../helpers/daemon.ts';

const env = useMaildirWebhookDaemon();
const { received, settleHook } = env;

describe('HTTP injection → Maildir → webhook', () => {
  it('one request with three recipients: three messages, each with exactly one Reception and one Delivery at the hook', async () => {
    const res = await injectHttp(env.daemon.httpUrl!, {
      envelope_sender: 'api@example.com',
      recipients: [{ email: 'one@example.net' }, { email: 'two@example.net' }, { email: 'three@example.org' }],
      content: { subject: 'injected over http', text_body: 'hello from fetch', headers: { 'X-Tenant': 'api-tenant', 'X-Order': '77' } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success_count: 3, fail_count: 0 });

    await settleHook(6);
    await env.daemon.stop({ keepState: true });
    const records = received();
    expect(records).toHaveLength(6);
    const byId = new Map<string, WebhookRecord[]>();
    for (const r of records) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    expect(byId.size).toBe(3);
    for (const [, mine] of byId) {
      expect(mine.map((r) => r.type).sort()).toEqual(['Delivery', 'Reception']);
      for (const r of mine) {
        expect(r).toMatchObject({ sender: 'api@example.com', reception_protocol: 'HTTP', meta: { tenant: 'api-tenant', via: 'http' } });
        expect(r.headers).toMatchObject({ Subject: 'injected over http', 'X-Tenant': 'api-tenant', 'X-Order': '77' });
        expect(Object.keys(r.headers).every((h) => h === 'Subject' || h.startsWith('X-'))).toBe(true);
      }
      expect(mine.find((r) => r.type === 'Delivery')).toMatchObject({ delivery_protocol: 'Maildir', response: { code: 200 } });
    }
    expect(records.filter((r) => r.type === 'Reception').map((r) => r.recipient).sort()).toEqual(['one@example.net', 'three@example.org', 'two@example.net']);

    const files = maildirMessages(env.daemon.stateDir);
    expect(files).toHaveLength(3);
    for (const f of files) {
      expect(f.text).toContain('Subject: injected over http');
      expect(f.text).toContain('hello from fetch');
    }
    fs.rmSync(env.daemon.stateDir, { recursive: true, force: true });
  });

  it('raw RFC 5322 content is delivered byte for byte', async () => {
    const content = 'From: <api@example.com>\r\nSubject: raw content\r\nX-Tenant: rawt\r\n\r\nexact body\r\nsecond line\r\n';
    const res = await injectHttp(env.daemon.httpUrl!, { envelope_sender: 'api@example.com', recipients: [{ email: 'raw@example.net' }], content });
    expect(res.status).toBe(200);
    await settleHook(2);
    const files = maildirMessages(env.daemon.stateDir);
    expect(files).toHaveLength(1);
    expect(files[0]!.text.endsWith('\r\n\r\nexact body\r\nsecond line\r\n')).toBe(true);
    expect(files[0]!.text).toContain('Subject: raw content\r\n');
    expect(received().map((r) => [r.type, r.meta.tenant, r.headers.Subject])).toEqual([
      ['Reception', 'rawt', 'raw content'],
      ['Delivery', 'rawt', 'raw content'],
    ]);
  });

  // engine.md §8.5 step 5, §17 item 13: an unparsable recipient fails alone (200, fail_count 1).
  it('a bad recipient fails alone: the good one is received and delivered, the bad one produces no record', async () => {
    const res = await injectHttp(env.daemon.httpUrl!, {
      envelope_sender: 'api@example.com',
      recipients: [{ email: 'good@example.net' }, { email: 'bad' }],
      content: { subject: 'partly bad', text_body: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success_count: 1, fail_count: 1, failed_recipients: ['bad'] });
    expect(String((res.json.errors as string[])[0])).toMatch(/^bad: /);
    await settleHook(2);
    await env.daemon.stop({ keepState: true });
    expect(received().map((r) => [r.type, r.recipient])).toEqual([
      ['Reception', 'good@example.net'],
      ['Delivery', 'good@example.net'],
    ]);
    expect(maildirMessages(env.daemon.stateDir)).toHaveLength(1);
    fs.rmSync(env.daemon.stateDir, { recursive: true, force: true });
  });
});
