/**
 * SMTP in → Maildir out, with every record published to a real webhook by
 * policy-extras.log_hooks: one Reception and one Delivery per message, with
 * the captured headers and meta, and the message on disk.
 */
import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { maildirMessages, useMaildirWebhookDaemon, type WebhookRecord } from '../helpers/daemon.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

const env = useMaildirWebhookDaemon();
const { received, settleHook } = env;

describe('SMTP → Maildir → webhook', () => {
  it('publishes exactly one Reception and one Delivery per message, with Subject, X-* headers and meta', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: env.daemon.smtpPort!, secure: false, ignoreTLS: true });
    const sent: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await transport.sendMail({
        from: 'sender@example.com',
        to: `rcpt${i}@example.net`,
        subject: `e2e smtp ${i}`,
        text: `body of message ${i}`,
        headers: { 'X-Tenant': `tenant-${i}`, 'X-Batch': 'c42' },
      });
      sent.push(`rcpt${i}@example.net`);
    }
    transport.close();

    await settleHook(6);
    // Graceful shutdown drains everything: anything duplicated would arrive by now.
    await env.daemon.stop();
    const records = received();
    expect(records).toHaveLength(6);
    expect(env.sink.requests.every((r) => r.method === 'POST' && r.path === '/events' && r.headers['content-type'] === 'application/json')).toBe(true);

    const ids = [...new Set(records.map((r) => r.id))];
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      const mine = records.filter((r) => r.id === id);
      expect(mine.map((r) => r.type).sort()).toEqual(['Delivery', 'Reception']);
      const reception = mine.find((r) => r.type === 'Reception')!;
      const delivery = mine.find((r) => r.type === 'Delivery')!;
      const i = Number(/rcpt(\d)@/.exec(String(reception.recipient))![1]);
      expect(reception).toMatchObject({ sender: 'sender@example.com', recipient: `rcpt${i}@example.net`, queue: `tenant-${i}@example.net`, reception_protocol: 'ESMTP' });
      expect(reception.response).toMatchObject({ code: 250 });
      expect(delivery).toMatchObject({ recipient: `rcpt${i}@example.net`, delivery_protocol: 'Maildir', reception_protocol: 'ESMTP' });
      expect(delivery.response).toMatchObject({ code: 200 });
      for (const r of [reception, delivery]) {
        expect(r.headers).toMatchObject({ Subject: `e2e smtp ${i}`, 'X-Tenant': `tenant-${i}`, 'X-Batch': 'c42' });
        // Only the configured headers are captured.
        expect(Object.keys(r.headers).every((h) => h === 'Subject' || h.startsWith('X-'))).toBe(true);
        expect(r.meta).toEqual({ tenant: `tenant-${i}`, via: 'smtp' });
      }
    }
    expect(records.filter((r) => r.type === 'Reception').map((r) => r.recipient).sort()).toEqual(sent);
  });

  it('writes the message to the Maildir named in the Delivery record, body intact', async () => {
    const smtp = await RawSmtpClient.connect(env.daemon.smtpPort!);
    expect((await smtp.reply()).code).toBe(220);
    expect((await smtp.command('EHLO client.example')).code).toBe(250);
    expect((await smtp.command('MAIL FROM:<raw@example.com>')).code).toBe(250);
    expect((await smtp.command('RCPT TO:<box@example.net>')).code).toBe(250);
    const body = 'Subject: raw session\r\nX-Tenant: raw\r\n\r\nline one\r\n.leading dot\r\nline three\r\n';
    const done = await smtp.data(body);
    expect(done.code).toBe(250);
    await smtp.command('QUIT');
    smtp.close();

    await settleHook(2);
    const delivery = env.daemon.recordsOf('Delivery').find((r) => r.delivery_protocol === 'Maildir')!;
    const content = String((delivery.response as { content: string }).content);
    const maildirId = /wrote to maildir with id=(\S+)/.exec(content)?.[1];
    expect(maildirId, content).toBeTruthy();

    const files = maildirMessages(env.daemon.stateDir);
    expect(files).toHaveLength(1);
    expect(files[0]!.name.startsWith(maildirId!)).toBe(true);
    expect(files[0]!.text).toContain('Subject: raw session');
    // Dot-stuffing undone, body bytes intact.
    expect(files[0]!.text).toContain('line one\r\n.leading dot\r\nline three\r\n');
    const hookDelivery = received().find((r) => r.type === 'Delivery')!;
    expect(hookDelivery).toMatchObject({ queue: 'raw@example.net', meta: { tenant: 'raw', via: 'smtp' }, headers: { Subject: 'raw session', 'X-Tenant': 'raw' } });
  });
});
