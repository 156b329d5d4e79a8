/**
 * Error texts of kumo.http. Each message starts with the prefix reqwest
 * would print (clients.md §1.6) so policies matching on it keep working, and
 * then names the actual cause, which reqwest leaves out.
 */

/** Any failure kumo.http reports; the message is what Lua sees. */
export class HttpClientError extends Error {
  override name = 'HttpClientError';
}

/** The total deadline (client `timeout` or `Request:timeout()`) passed. */
export class HttpTimeoutError extends Error {
  override name = 'HttpTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)}`);
  }
}

/** The response body passed the client's max_response_size. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
  constructor(readonly limit: number, declared?: number) {
    super(
      declared === undefined
        ? `response body is larger than max_response_size (${limit} bytes); the rest was not read`
        : `response body of ${declared} bytes (Content-Length) is larger than max_response_size (${limit} bytes); it was not read`,
    );
  }
}

/** `60s`, `0.25s`, `1.5s`: seconds, because that is how timeouts are configured. */
export function formatSeconds(ms: number): string {
  const secs = Math.round(ms) / 1000;
  return `${Number.isInteger(secs) ? secs : Number(secs.toFixed(3))}s`;
}

interface NodeSystemError {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message: string;
  cause?: unknown;
  errors?: unknown[];
}

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME/;

/** A short, human description of why a request failed, naming the peer. */
export function describeCause(err: unknown, url: URL): string {
  if (err instanceof HttpTimeoutError || err instanceof ResponseTooLargeError) return err.message;
  const e = unwrap(err);
  const peer = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused to ${e.address && e.port ? hostPort(e.address, e.port) : peer}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dns lookup failed for ${e.hostname ?? url.hostname} (${e.code})`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return `connection to ${peer} closed before a complete response (${e.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: ${peer} (${e.code})`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect to ${peer} timed out`;
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'the client connection pool was closed';
  }
  if (e.code && TLS_CODE.test(e.code)) return `tls error talking to ${peer}: ${e.message} (${e.code})`;
  return e.code ? `${e.message} (${e.code})` : e.message;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** undici wraps socket errors in `cause`; happy-eyeballs wraps several in an AggregateError. */
function unwrap(err: unknown): NodeSystemError {
  let e = (err ?? { message: 'unknown error' }) as NodeSystemError;
  for (let depth = 0; depth < 5; depth++) {
    if (Array.isArray(e.errors) && e.errors.length > 0 && !e.code) {
      e = e.errors[e.errors.length - 1] as NodeSystemError;
      continue;
    }
    if (e.cause && typeof e.cause === 'object' && (!e.code || e.code === 'UND_ERR_SOCKET' && (e.cause as NodeSystemError).code)) {
      e = e.cause as NodeSystemError;
      continue;
    }
    break;
  }
  if (typeof e.message !== 'string') return { message: String(err) };
  return e;
}

export const sendError = (url: URL, err: unknown) =>
  new HttpClientError(`error sending request for url (${url.href}): ${describeCause(err, url)}`);

export const bodyError = (url: URL, err: unknown) =>
  new HttpClientError(`request or response body error for url (${url.href}): ${describeCause(err, url)}`);

export const redirectError = (url: URL, why: string) =>
  new HttpClientError(`error following redirect for url (${url.href}): ${why}`);

export const builderError = (why: string, url?: URL) =>
  new HttpClientError(url ? `builder error for url (${url.href}): ${why}` : `builder error: ${why}`);
