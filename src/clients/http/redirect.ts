/**
 * Redirect rules of reqwest's default policy (clients.md §1.1), applied by
 * hand because undici's own redirect handling follows different rules.
 */
import { redirectError } from './errors.ts';

export const MAX_REDIRECTS = 10;

export interface Hop {
  method: string;
  url: URL;
  /** [name, value] pairs; names lowercase. */
  headers: [string, string][];
  body: Buffer | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const PAYLOAD_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'transfer-encoding']);
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'cookie2', 'proxy-authorization', 'www-authenticate']);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/** The request to make after `status` with `location`, or throws a redirect error. */
export function nextHop(previous: Hop, status: number, location: string): Hop {
  let url: URL;
  try {
    url = new URL(location, previous.url);
  } catch {
    throw redirectError(previous.url, `invalid Location header ${JSON.stringify(location)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw redirectError(url, `redirect to unsupported scheme ${url.protocol.replace(/:$/, '')}`);
  }
  let { method, body } = previous;
  let headers = previous.headers.slice();
  if (status === 301 || status === 302 || status === 303) {
    // The body is dropped and anything but GET/HEAD becomes GET.
    body = undefined;
    headers = headers.filter(([name]) => !PAYLOAD_HEADERS.has(name));
    if (method !== 'GET' && method !== 'HEAD') method = 'GET';
  }
  if (url.host !== previous.url.host) headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name));
  headers = headers.filter(([name]) => name !== 'referer');
  if (!(previous.url.protocol === 'https:' && url.protocol === 'http:')) {
    const referer = new URL(previous.url);
    referer.username = '';
    referer.password = '';
    referer.hash = '';
    headers.push(['referer', referer.href]);
  }
  return { method, url, headers, body };
}
