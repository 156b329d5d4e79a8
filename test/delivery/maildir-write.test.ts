import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverToMaildir, renderWithMinijinja, writeToMaildir } from '../../src/delivery/maildir.ts';
import { Message } from '../../src/message/message.ts';
import { parseQueueName } from '../../src/message/queue-name.ts';
import { parseQueueConfig, type MaildirProtocol } from '../../src/queue/queue-config.ts';
import { tempDir } from '../helpers/engine.ts';

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function maildirProtocol(path: string): MaildirProtocol {
  const p = parseQueueConfig({ protocol: { maildir_path: path } }).protocol;
  if (p.kind !== 'maildir') throw new Error('not maildir');
  return p;
}

describe('maildir writes', () => {
  it('renders a template once parsed, with each call its own variables', () => {
    const t = '/box/{{ tenant }}/{{ local_part }}';
    expect(renderWithMinijinja(t, { tenant: 'a', local_part: 'x' })).toBe('/box/a/x');
    expect(renderWithMinijinja(t, { tenant: 'b', local_part: 'y' })).toBe('/box/b/y');
    expect(renderWithMinijinja('/other/{{ tenant }}', { tenant: 'c' })).toBe('/other/c');
    expect(() => renderWithMinijinja('/bad/{{ tenant', {})).toThrow();
    expect(() => renderWithMinijinja('/bad/{{ tenant', {})).toThrow();
    expect(renderWithMinijinja('/plain\n', {})).toBe('/plain');
  });

  it('a maildir_path without tags is used as it is, without calling the renderer', async () => {
    const mail = tempDir('kumo-maildir-');
    dirs.push(mail);
    const msg = new Message({ sender: 's@x.example', recipients: ['a@example.com', 'b@example.com'], data: new TextEncoder().encode('hello\r\n') });
    const calls: string[] = [];
    const render = (t: string) => (calls.push(t), t);
    const constant = await deliverToMaildir(msg, 'example.com', parseQueueName('example.com'), maildirProtocol(mail.path), Date.now(), render);
    expect(constant.failed).toEqual([]);
    expect(calls).toEqual([]);
    expect(readdirSync(join(mail.path, 'new'))).toHaveLength(2);
    await deliverToMaildir(msg, 'example.com', parseQueueName('example.com'), maildirProtocol(`${mail.path}/{{ local_part }}`), Date.now(), render);
    expect(calls).toHaveLength(2);
  });

  it('writes the whole body through tmp/ into new/ and leaves nothing in tmp/', async () => {
    const mail = tempDir('kumo-maildir-');
    dirs.push(mail);
    const body = new Uint8Array(300_000).fill(65);
    const id = await writeToMaildir(mail.path, body, maildirProtocol(mail.path), Date.now());
    expect(readFileSync(join(mail.path, 'new', id)).equals(Buffer.from(body))).toBe(true);
    expect(readdirSync(join(mail.path, 'tmp'))).toEqual([]);
  });
});
