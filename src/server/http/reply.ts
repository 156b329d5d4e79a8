/**
 * Request bodies in, replies out: body limits and gzip/deflate in both
 * directions, and KumoMTA's `Error: <message>` text bodies.
 */
import type http from 'node:http';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

export interface HttpReply {
  status: number;
  contentType: string;
  body: string | Buffer;
}

export class HttpError extends Error {
  /** `plain`: body is the message as is (auth failures), else `Error: <message>`. */
  constructor(
    readonly status: number,
    message: string,
    readonly options: { plain?: boolean } = {},
  ) {
    super(message);
  }

  toReply(): HttpReply {
    return text(this.status, this.options.plain ? this.message : `Error: ${this.message}`);
  }
}

export function text(status: number, body: string): HttpReply {
  return { status, contentType: 'text/plain; charset=utf-8', body };
}

export function json(status: number, value: unknown): HttpReply {
  return { status, contentType: 'application/json', body: JSON.stringify(value) };
}

/** Pre-serialised JSON (keeps serde_json number formatting). */
export function jsonText(status: number, body: string): HttpReply {
  return { status, contentType: 'application/json', body };
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** Reads the whole body; the limit applies after decompression (413 beyond it). */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  // Compressed bodies may expand; cap the raw read at the limit too.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'Failed to buffer the request body: length limit exceeded', { plain: true });
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  let body: Buffer;
  try {
    if (encoding === 'gzip') body = await gunzip(raw, { maxOutputLength: limit + 1 });
    else if (encoding === 'deflate') body = await inflate(raw, { maxOutputLength: limit + 1 });
    else if (encoding === 'identity') body = raw;
    else throw new HttpError(415, `unsupported Content-Encoding ${encoding}`);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, 'Failed to buffer the request body: length limit exceeded', { plain: true });
    }
    throw new HttpError(400, `cannot decompress the request body: ${(e as Error).message}`);
  }
  if (body.length > limit) throw new HttpError(413, 'Failed to buffer the request body: length limit exceeded', { plain: true });
  return body;
}

export async function sendReply(req: http.IncomingMessage, res: http.ServerResponse, reply: HttpReply): Promise<void> {
  let body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  const accept = String(req.headers['accept-encoding'] ?? '');
  const headers: http.OutgoingHttpHeaders = { 'content-type': reply.contentType };
  if (body.length > 0 && /\bgzip\b/.test(accept)) {
    body = await gzip(body);
    headers['content-encoding'] = 'gzip';
  } else if (body.length > 0 && /\bdeflate\b/.test(accept)) {
    body = await deflate(body);
    headers['content-encoding'] = 'deflate';
  }
  headers['content-length'] = body.length;
  res.writeHead(reply.status, headers);
  res.end(body);
}
