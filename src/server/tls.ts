/**
 * Certificates for HTTPS and STARTTLS: the configured PEM files, or a
 * self-signed certificate for the listener hostname (what KumoMTA does when
 * none is configured).
 */
import fs from 'node:fs/promises';
import { lazyRequire } from '../util/lazy-require.ts';
import { isJsonObject, type JsonValue } from '../util/json.ts';
import { ListenerConfigError, type OptionReader } from './options.ts';

const selfsigned = lazyRequire<typeof import('selfsigned')>('selfsigned');

export interface TlsMaterial {
  cert: string;
  key: string;
}

/** A key source: a path string, `{ path = ... }` or inline `{ key_data = ... }`. */
export type KeySource = { path: string } | { data: string };

export function keySourceOption(r: OptionReader, key: string): KeySource | undefined {
  const v: JsonValue | undefined = r.value(key);
  if (v === undefined) return undefined;
  if (typeof v === 'string') return { path: v };
  if (isJsonObject(v) && !Array.isArray(v)) {
    if (typeof v.key_data === 'string') return { data: v.key_data };
    if (typeof v.path === 'string') return { path: v.path };
  }
  return r.fail(key, 'must be a file path or a table { key_data = "..." } / { path = "..." }');
}

export async function readSource(what: string, src: KeySource): Promise<string> {
  if ('data' in src) return src.data;
  try {
    return await fs.readFile(src.path, 'utf8');
  } catch (e) {
    throw new ListenerConfigError(`${what}: cannot read '${src.path}': ${(e as Error).message}`);
  }
}

/** Generated certificates per hostname: RSA key generation is slow, and one per process is enough. */
const generated = new Map<string, Promise<TlsMaterial>>();

export function selfSignedFor(hostname: string): Promise<TlsMaterial> {
  let cert = generated.get(hostname);
  if (!cert) {
    cert = generateSelfSigned(hostname);
    generated.set(hostname, cert);
    cert.catch(() => generated.delete(hostname));
  }
  return cert;
}

async function generateSelfSigned(hostname: string): Promise<TlsMaterial> {
  const pems = await selfsigned().generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] }],
  } as Parameters<typeof import('selfsigned').generate>[1]);
  return { cert: pems.cert, key: pems.private };
}

export async function loadTlsMaterial(
  where: string,
  hostname: string,
  certificate: KeySource | undefined,
  privateKey: KeySource | undefined,
): Promise<TlsMaterial> {
  if (!certificate && !privateKey) return selfSignedFor(hostname);
  if (!certificate || !privateKey) {
    throw new ListenerConfigError(`${where}: tls_certificate and tls_private_key must be given together`);
  }
  return {
    cert: await readSource(`${where}: tls_certificate`, certificate),
    key: await readSource(`${where}: tls_private_key`, privateKey),
  };
}
