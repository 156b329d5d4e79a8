import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Environment } from 'minijinja-js';
import { lazyRequire } from '../util/lazy-require.ts';
import type { Message } from '../message/message.ts';
import type { QueueNameComponents } from '../message/queue-name.ts';
import type { MaildirProtocol } from '../queue/queue-config.ts';

const minijinja = lazyRequire<typeof import('minijinja-js')>('minijinja-js');

export type TemplateRenderer = (template: string, vars: Record<string, unknown>) => string;

let env: Environment | null = null;

/** Default maildir_path renderer: the Jinja-compatible minijinja engine. */
export const renderWithMinijinja: TemplateRenderer = (template, vars) => {
  env ??= new (minijinja().Environment)();
  return env.renderStr(template, vars);
};

function splitAddress(addr: string): { local: string; domain: string } {
  const at = addr.lastIndexOf('@');
  return at < 0 ? { local: addr, domain: '' } : { local: addr.slice(0, at), domain: addr.slice(at + 1) };
}

/** Template variables for one recipient (engine.md §5). */
export function maildirVars(msg: Message, recipient: string, queue: string, c: QueueNameComponents): Record<string, unknown> {
  const r = splitAddress(recipient);
  const s = splitAddress(msg.sender);
  return {
    meta: msg.metaObject(), queue, campaign: c.campaign, tenant: c.tenant, domain: c.domain, routing_domain: c.routingDomain,
    local_part: r.local, domain_part: r.domain, email: recipient,
    sender_local_part: s.local, sender_domain_part: s.domain, sender_email: msg.sender,
  };
}

let counter = 0;
let hostPart: string | null = null;

/** A unique maildir file name: `<secs>.M<micros>P<pid>Q<n>.<host>`. */
function uniqueName(nowMs: number): string {
  const secs = Math.floor(nowMs / 1000);
  const micros = Math.floor((nowMs % 1000) * 1000);
  hostPart ??= hostname().replace(/[/:]/g, '_');
  return `${secs}.M${micros}P${process.pid}Q${++counter}.${hostPart}`;
}

/** Maildirs whose tmp/new/cur exist already: creating them costs three mkdir calls per delivery otherwise. */
const createdMaildirs = new Set<string>();

async function ensureMaildir(dir: string, protocol: MaildirProtocol): Promise<void> {
  if (createdMaildirs.has(dir)) return;
  for (const sub of ['tmp', 'new', 'cur']) {
    await mkdir(join(dir, sub), { recursive: true, ...(protocol.dirMode !== null ? { mode: protocol.dirMode } : {}) });
  }
  createdMaildirs.add(dir);
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Writes the message into `<dir>/tmp/` and renames it into `<dir>/new/`
 * (creating tmp/new/cur as needed); returns the maildir id.
 */
export async function writeToMaildir(dir: string, data: Uint8Array, protocol: MaildirProtocol, nowMs: number): Promise<string> {
  await ensureMaildir(dir, protocol);
  const id = uniqueName(nowMs);
  const tmpPath = join(dir, 'tmp', id);
  const fh = await open(tmpPath, 'wx', protocol.fileMode ?? 0o666).catch(async (err: unknown) => {
    if (!isMissing(err)) throw err;
    // Removed since we created it: make it again.
    createdMaildirs.delete(dir);
    await ensureMaildir(dir, protocol);
    return open(tmpPath, 'wx', protocol.fileMode ?? 0o666);
  });
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmpPath, join(dir, 'new', id)).catch(async (err: unknown) => {
    if (!isMissing(err)) throw err;
    createdMaildirs.delete(dir);
    await ensureMaildir(dir, protocol);
    await rename(tmpPath, join(dir, 'new', id));
  });
  return id;
}

export interface MaildirResult {
  delivered: { recipient: string; id: string }[];
  failed: { recipient: string; error: string }[];
}

/** Delivers `msg` to every recipient's rendered maildir; reports per recipient. */
export async function deliverToMaildir(msg: Message, queue: string, c: QueueNameComponents, protocol: MaildirProtocol, nowMs: number, render: TemplateRenderer): Promise<MaildirResult> {
  const result: MaildirResult = { delivered: [], failed: [] };
  for (const recipient of msg.recipients) {
    try {
      const dir = render(protocol.maildirPath, maildirVars(msg, recipient, queue, c));
      const id = await writeToMaildir(dir, msg.getData(), protocol, nowMs);
      result.delivered.push({ recipient, id });
    } catch (err) {
      result.failed.push({ recipient, error: (err as Error).message });
    }
  }
  return result;
}
