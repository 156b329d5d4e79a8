import fs from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
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
/** Template source → its registered name: renderStr parsed the template again for every recipient. */
const registered = new Map<string, string>();
const MAX_REGISTERED = 256;

/** Default maildir_path renderer: the Jinja-compatible minijinja engine; each template is parsed once. */
export const renderWithMinijinja: TemplateRenderer = (template, vars) => {
  env ??= new (minijinja().Environment)();
  let name = registered.get(template);
  if (name === undefined) {
    if (registered.size >= MAX_REGISTERED) {
      env.clearTemplates();
      registered.clear();
    }
    // No file extension in the name: no auto-escaping, as with renderStr.
    name = `maildir_path_${registered.size}`;
    env.addTemplate(name, template); // a syntax error throws here, and nothing is cached
    registered.set(template, name);
  }
  return env.renderTemplate(name, vars);
};

/**
 * A maildir_path with no `{` has no tag, expression or comment, and renders
 * as itself unless it ends in a newline (Jinja drops one trailing newline).
 */
function isConstantTemplate(template: string): boolean {
  return !template.includes('{') && !template.endsWith('\n');
}

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

/** fs calls with callbacks: one promise per file instead of a FileHandle and a promise per call. */
function openExclusive(path: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, 'wx', mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** Writes all of `data`, syncs and closes `fd` (closed on failure too). */
function writeSyncClose(fd: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => fs.close(fd, () => reject(err));
    const writeFrom = (offset: number) => {
      if (offset >= data.byteLength) {
        fs.fsync(fd, (err) => (err ? fail(err) : fs.close(fd, (cerr) => (cerr ? reject(cerr) : resolve()))));
        return;
      }
      fs.write(fd, data, offset, data.byteLength - offset, null, (err, written) => (err ? fail(err) : writeFrom(offset + written)));
    };
    writeFrom(0);
  });
}

function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => fs.rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes the message into `<dir>/tmp/`, fsyncs it and renames it into
 * `<dir>/new/` (creating tmp/new/cur as needed); returns the maildir id.
 */
export async function writeToMaildir(dir: string, data: Uint8Array, protocol: MaildirProtocol, nowMs: number): Promise<string> {
  await ensureMaildir(dir, protocol);
  const id = uniqueName(nowMs);
  const tmpPath = join(dir, 'tmp', id);
  const mode = protocol.fileMode ?? 0o666;
  const fd = await openExclusive(tmpPath, mode).catch(async (err: unknown) => {
    if (!isMissing(err)) throw err;
    // Removed since we created it: make it again.
    createdMaildirs.delete(dir);
    await ensureMaildir(dir, protocol);
    return openExclusive(tmpPath, mode);
  });
  try {
    await writeSyncClose(fd, data);
  } catch (err) {
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
  const newPath = join(dir, 'new', id);
  await renameFile(tmpPath, newPath).catch(async (err: unknown) => {
    if (!isMissing(err)) throw err;
    createdMaildirs.delete(dir);
    await ensureMaildir(dir, protocol);
    await renameFile(tmpPath, newPath);
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
  const constant = isConstantTemplate(protocol.maildirPath);
  for (const recipient of msg.recipients) {
    try {
      const dir = constant ? protocol.maildirPath : render(protocol.maildirPath, maildirVars(msg, recipient, queue, c));
      const id = await writeToMaildir(dir, msg.getData(), protocol, nowMs);
      result.delivered.push({ recipient, id });
    } catch (err) {
      result.failed.push({ recipient, error: (err as Error).message });
    }
  }
  return result;
}
