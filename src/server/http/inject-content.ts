/**
 * Turns an injection request's content into per-recipient RFC 5322 bytes:
 * Jinja templates (minijinja, as KumoMTA) or Handlebars ones compiled once per request, then
 * either the templated full message or a MIME message built from the builder
 * parts by nodemailer's MailComposer.
 */
import type { Environment } from 'minijinja-js';
import { lazyRequire } from '../../util/lazy-require.ts';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { HttpError } from './reply.ts';
import { compileHandlebars } from '../../kumo/support/handlebars-template.ts';
import { templateValue, type ContentBuilder, type InjectRecipient, type InjectRequest, type NamedAddress } from './inject-request.ts';

const minijinja = lazyRequire<typeof import('minijinja-js')>('minijinja-js');
// nodemailer's MIME builder is needed only by builder-form injections.
const MailComposer = lazyRequire<typeof import('nodemailer/lib/mail-composer/index.js').default>('nodemailer/lib/mail-composer/index.js');

/** First line of a minijinja error (its debug rendering is many lines). */
function shortError(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Bare LF or CR become CRLF. */
export function normalizeCrlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

function quoteName(name: string): string {
  // Non-ASCII names become an RFC 2047 encoded word; ASCII ones a quoted string.
  if (/[^\x20-\x7e]/.test(name)) return `=?utf-8?b?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

export function toHeaderValue(email: string, name: string | null): string {
  return name ? `${quoteName(name)} <${email}>` : email;
}

/** Adds `MIME-Version: 1.0` at the end of the header block unless present. */
function ensureMimeVersion(message: string): string {
  const end = message.indexOf('\r\n\r\n');
  const head = end >= 0 ? message.slice(0, end + 2) : message;
  if (/^mime-version\s*:/im.test(head)) return message;
  if (end < 0) return `${message}${message.endsWith('\r\n') || message === '' ? '' : '\r\n'}MIME-Version: 1.0\r\n`;
  return `${head}MIME-Version: 1.0\r\n${message.slice(end + 2)}`;
}

type Renderer = (ctx: Record<string, unknown>) => string;

export class CompiledContent {
  private readonly env: Environment = new (minijinja().Environment)();
  private seq = 0;
  private readonly full: Renderer | null = null;
  /** The last full-content output and its CRLF/MIME-Version form: static content is the same text for every recipient. */
  private lastFull: { output: string; text: string } | null = null;
  private readonly parts: {
    text: Renderer | null;
    html: Renderer | null;
    amp: Renderer | null;
    subject: Renderer | null;
    headers: [string, Renderer][];
  } | null = null;

  /** Compiles every template of the request; a bad one is a 422 naming the part. */
  constructor(private readonly request: InjectRequest) {
    this.env.debug = false;
    this.env.keepTrailingNewline = true;
    const content = request.content;
    if (typeof content === 'string') {
      this.full = this.compile('content', content);
      return;
    }
    if (content.textBody === null && content.htmlBody === null) {
      throw new HttpError(422, 'content: at least one of text_body or html_body is required');
    }
    this.parts = {
      text: content.textBody === null ? null : this.compile('content.text_body', content.textBody),
      html: content.htmlBody === null ? null : this.compile('content.html_body', content.htmlBody),
      amp: content.ampHtmlBody === null ? null : this.compile('content.amp_html_body', content.ampHtmlBody),
      subject: content.subject === null ? null : this.compile('content.subject', content.subject),
      headers: content.headers.map(([name, value]) => [name, this.compile(`content.headers.${name}`, value)]),
    };
  }

  private compile(field: string, source: string): Renderer {
    // Text without a tag opener renders to itself (trailing newline kept):
    // skip the template engine, a cost per recipient.
    if (this.request.templateDialect === 'Static' || !/\{[{%#]/.test(source)) return () => source;
    if (this.request.templateDialect === 'Handlebars') return this.compileHandlebars(field, source);
    const name = `t${this.seq++}`;
    try {
      this.env.addTemplate(name, source);
    } catch (e) {
      throw new HttpError(422, `${field}: ${shortError(e)}`);
    }
    return (ctx) => {
      try {
        return this.env.renderTemplate(name, ctx);
      } catch (e) {
        throw new Error(`${field}: ${shortError(e)}`);
      }
    };
  }

  private compileHandlebars(field: string, source: string): Renderer {
    let render: (ctx: unknown) => string;
    try {
      render = compileHandlebars(source);
    } catch (e) {
      throw new HttpError(422, `${field}: ${shortError(e)}`);
    }
    return (ctx) => {
      try {
        return render(ctx);
      } catch (e) {
        throw new Error(`${field}: ${shortError(e)}`);
      }
    };
  }

  /** Template variables: globals, then email/name/to_header, then the recipient's own. */
  contextFor(r: InjectRecipient): Record<string, unknown> {
    const ctx: Record<string, unknown> = templateValue(this.request.substitutions) as Record<string, unknown>;
    ctx.email = r.email;
    if (r.name !== null) ctx.name = r.name;
    ctx.to_header = toHeaderValue(r.address.email, r.name);
    Object.assign(ctx, templateValue(r.substitutions));
    return ctx;
  }

  /** The message bytes for one recipient (CRLF line endings). Throws per-recipient errors. */
  async render(r: InjectRecipient): Promise<Buffer> {
    const ctx = this.contextFor(r);
    if (this.full) {
      const output = this.full(ctx);
      if (this.lastFull === null || this.lastFull.output !== output) this.lastFull = { output, text: ensureMimeVersion(normalizeCrlf(output)) };
      return Buffer.from(this.lastFull.text, 'utf8');
    }
    return this.build(this.request.content as ContentBuilder, ctx, r);
  }

  private async build(c: ContentBuilder, ctx: Record<string, unknown>, r: InjectRecipient): Promise<Buffer> {
    const p = this.parts!;
    const addr = (a: NamedAddress | null): Mail.Address | undefined => (a ? { address: a.email, name: a.name ?? '' } : undefined);
    const headers = p.headers.map(([key, render]) => ({ key, value: render(ctx) }));
    const hasTo = headers.some((h) => h.key.toLowerCase() === 'to');
    const options: Mail.Options = {
      from: addr(c.from),
      replyTo: addr(c.replyTo),
      to: hasTo ? undefined : { address: r.address.email, name: r.name ?? '' },
      subject: p.subject ? p.subject(ctx) : undefined,
      text: p.text ? normalizeCrlf(p.text(ctx)) : undefined,
      html: p.html ? normalizeCrlf(p.html(ctx)) : undefined,
      amp: p.amp ? normalizeCrlf(p.amp(ctx)) : undefined,
      headers,
      attachments: c.attachments.map((a) => ({
        content: a.base64 ? Buffer.from(a.data, 'base64') : a.data,
        contentType: a.contentType,
        ...(a.contentId ? { cid: a.contentId } : {}),
        filename: a.fileName ?? false,
      })),
    };
    const node = new (MailComposer())(options).compile();
    // nodemailer adds a Bcc-free envelope; keep the headers it would otherwise strip.
    node.keepBcc = true;
    const built = await new Promise<Buffer>((resolve, reject) => node.build((err, out) => (err ? reject(err) : resolve(out))));
    return Buffer.from(normalizeCrlf(built.toString('utf8')), 'utf8');
  }
}
