import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseQueueConfig } from '../../src/queue/queue-config.ts';
import { Message } from '../../src/message/message.ts';
import { advance, makeTestEngine, spoolIdAt, tempDir, until, type TestEngine } from '../helpers/engine.ts';

let engine: TestEngine | null = null;
const dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  await engine?.close();
  engine = null;
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('maildir delivery (engine.md §5)', () => {
  it('renders the path per recipient, writes via tmp/ into new/, logs one Delivery', async () => {
    const mail = tempDir('kumo-maildir-');
    dirs.push(mail);
    const e = (engine = await makeTestEngine({
      queueConfig: () => parseQueueConfig({ protocol: { maildir_path: `${mail.path}/{{ tenant }}/{{ domain_part }}/{{ local_part }}`, file_mode: 0o600 } }),
    }));
    const msg = new Message({ sender: 's@x.example', recipients: ['alice@example.com', 'bob@example.com'], meta: { tenant: 'acme' }, data: new TextEncoder().encode('Subject: hi\r\n\r\nhello\r\n'), id: spoolIdAt(e.clock.now()) });
    await e.manager.insert(msg);
    await e.manager.maildirTasks.whenIdle(); // Maildir is written beside reception, not inside insert
    const [d] = e.records.of('Delivery');
    expect(d).toMatchObject({ site: '', deliveryProtocol: 'Maildir', peerAddress: null, response: { code: 200, enhanced_code: null } });
    expect(d!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    for (const who of ['alice', 'bob']) {
      const box = join(mail.path, 'acme', 'example.com', who);
      expect(readdirSync(join(box, 'tmp'))).toEqual([]);
      expect(readdirSync(join(box, 'cur'))).toEqual([]);
      const files = readdirSync(join(box, 'new'));
      expect(files).toHaveLength(1);
      expect(readFileSync(join(box, 'new', files[0]!), 'utf8')).toBe('Subject: hi\r\n\r\nhello\r\n');
      expect(statSync(join(box, 'new', files[0]!)).mode & 0o777).toBe(0o600);
      expect(d!.response.content).toContain(`${who}@example.com: wrote to maildir with id=${files[0]}`);
    }
    expect(d!.response.content.split(', ')).toHaveLength(2);
    await e.spool.flush();
    expect(e.spool.count()).toBe(0);
    expect(e.factory.connects).toEqual([]);
  });

  it('a failed recipient gets a TransientFailure, the recipient list shrinks, retry uses normal backoff', async () => {
    const mail = tempDir('kumo-maildir-');
    dirs.push(mail);
    writeFileSync(join(mail.path, 'blocked'), 'not a directory');
    const e = (engine = await makeTestEngine({
      queueConfig: () => parseQueueConfig({ retry_interval: '1m', protocol: { maildir_path: `${mail.path}/{{ local_part }}` } }),
    }));
    const msg = new Message({ sender: 's@x.example', recipients: ['ok@example.com', 'blocked@example.com'], data: new TextEncoder().encode('x'), id: spoolIdAt(e.clock.now()) });
    await e.manager.insert(msg);
    await e.manager.maildirTasks.whenIdle(); // Maildir is written beside reception, not inside insert
    const [tf] = e.records.of('TransientFailure');
    expect(tf!.response.code).toBe(400);
    expect(tf!.response.content).toMatch(/^blocked@example\.com: failed to write to maildir: /);
    expect(tf!.deliveryProtocol).toBe('Maildir');
    expect(e.records.of('Delivery')).toEqual([]);
    expect(msg.recipients).toEqual(['blocked@example.com']);
    await e.spool.flush();
    const reloaded = e.spool.load(msg.id)!;
    expect(reloaded.recipients).toEqual(['blocked@example.com']);
    expect(reloaded.numAttempts).toBe(1);
    await advance(e.clock, 60_000);
    await until(() => e.records.of('TransientFailure').length === 2, 'retried after 1m');
  });

  it('a maildir removed after its first delivery is created again (created directories are cached)', async () => {
    const mail = tempDir('kumo-maildir-');
    dirs.push(mail);
    const e = (engine = await makeTestEngine({ queueConfig: () => parseQueueConfig({ protocol: { maildir_path: `${mail.path}/box` } }) }));
    const send = async (n: number) => {
      await e.manager.insert(new Message({ sender: 's@x.example', recipients: ['a@example.com'], data: new TextEncoder().encode(`n=${n}`), id: spoolIdAt(e.clock.now()) }));
      await e.manager.maildirTasks.whenIdle();
    };
    await send(1);
    rmSync(join(mail.path, 'box'), { recursive: true, force: true });
    await send(2);
    expect(e.records.of('TransientFailure')).toEqual([]);
    expect(e.records.of('Delivery')).toHaveLength(2);
    const files = readdirSync(join(mail.path, 'box', 'new'));
    expect(files.map((f) => readFileSync(join(mail.path, 'box', 'new', f), 'utf8'))).toEqual(['n=2']);
    expect(readdirSync(join(mail.path, 'box', 'cur'))).toEqual([]);
  });
});
