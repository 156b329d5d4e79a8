/**
 * AWS Signature Version 4 as kumo.crypto.aws_sign_v4 computes it
 * (clients.md §11.3), including its own percent-encoding set and header
 * value normalisation.
 */
export interface SigV4Params {
  accessKey: string;
  secretKey: string;
  region: string;
  service: string;
  method: string;
  uri: string;
  queryParams: [string, string][];
  headers: [string, string][];
  payload: string;
  timestampSecs: number;
  sessionToken?: string;
}

export interface SigV4Result {
  authorization: string;
  timestamp: string;
  signature: string;
  canonical_request: string;
  string_to_sign: string;
}

export interface SigV4Crypto {
  sha256Hex(data: string): string;
  hmac(key: Uint8Array | string, data: string): Uint8Array;
}

const RESERVED = new Set(' !"#$%&\'()*+,/:;=?@[]'.split('').map((c) => c.charCodeAt(0)));

export function awsPercentEncode(text: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(text)) {
    if (b < 0x20 || b >= 0x7f || RESERVED.has(b)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Trim spaces/tabs, collapse inner runs to one space, leave quoted text alone. */
export function normalizeHeaderValue(value: string): string {
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');
  let out = '';
  let quoted = false;
  let lastWasSpace = false;
  for (const c of trimmed) {
    if (c === '"') quoted = !quoted;
    const space = c === ' ' || c === '\t';
    if (space && !quoted) {
      if (!lastWasSpace) out += ' ';
      lastWasSpace = true;
      continue;
    }
    lastWasSpace = false;
    out += c;
  }
  return out;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function awsSignV4(p: SigV4Params, crypto: SigV4Crypto): SigV4Result {
  const d = new Date(p.timestampSecs * 1000);
  const dateStamp = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
  const amzDate = `${dateStamp}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  const payloadHash = crypto.sha256Hex(p.payload);

  const headers = new Map<string, string>();
  for (const [k, v] of p.headers) headers.set(k.toLowerCase(), v);
  if (!headers.has('host')) throw new Error("headers must include 'host'");
  headers.set('x-amz-date', amzDate);
  if (p.sessionToken !== undefined) headers.set('x-amz-security-token', p.sessionToken);
  if (p.service === 's3') headers.set('x-amz-content-sha256', payloadHash);

  const canonicalUri = p.uri === '' ? '/' : p.uri.split('/').map(awsPercentEncode).join('/');
  const canonicalQuery = p.queryParams
    .map(([k, v]) => [awsPercentEncode(k), awsPercentEncode(v)] as const)
    .sort((a, b) => byText(a[0], b[0]) || byText(a[1], b[1]))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = [...headers.keys()].sort(byText);
  const canonicalHeaders = names.map((n) => `${n}:${normalizeHeaderValue(headers.get(n)!)}`).join('\n');
  const signedHeaders = names.join(';');

  const canonicalRequest = `${p.method}\n${canonicalUri}\n${canonicalQuery}\n${canonicalHeaders}\n\n${signedHeaders}\n${payloadHash}`;
  const scope = `${dateStamp}/${p.region}/${p.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${crypto.sha256Hex(canonicalRequest)}`;

  const kDate = crypto.hmac(`AWS4${p.secretKey}`, dateStamp);
  const kRegion = crypto.hmac(kDate, p.region);
  const kService = crypto.hmac(kRegion, p.service);
  const kSigning = crypto.hmac(kService, 'aws4_request');
  const signature = hex(crypto.hmac(kSigning, stringToSign));

  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${p.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    timestamp: amzDate,
    signature,
    canonical_request: canonicalRequest,
    string_to_sign: stringToSign,
  };
}
