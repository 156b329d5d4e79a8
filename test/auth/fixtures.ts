/**
 * DKIM keys made in the test and an in-memory DNS answering TXT (and A/MX)
 * queries the way node's dns.promises.resolve does — the edge where there is
 * no DNS server.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dnsError, type DnsResolveFunction } from '../../src/auth/dns-port.ts';

export interface TestKey {
  privatePem: string;
  privateKey: KeyObject;
  /** The `p=` value of the DKIM key record. */
  publicRecord: string;
  algorithm: 'rsa' | 'ed25519';
}

export function rsaKey(format: 'pkcs1' | 'pkcs8' = 'pkcs8'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    privatePem: privateKey.export({ type: format, format: 'pem' }) as string,
    publicRecord: `v=DKIM1; k=rsa; p=${(publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`,
    algorithm: 'rsa',
  };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32);
  return {
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicRecord: `v=DKIM1; k=ed25519; p=${raw.toString('base64')}`,
    algorithm: 'ed25519',
  };
}

/** Records by lower-case name and type; TXT values are single strings. */
export type Zone = Record<string, Partial<Record<'TXT' | 'A' | 'AAAA' | 'MX', unknown[]>>>;

/** A resolver over `zone`: unknown names ENOTFOUND, known names without that type ENODATA. */
export function memoryResolver(zone: Zone, queries: string[] = []): DnsResolveFunction {
  return async (name, rrtype) => {
    queries.push(`${rrtype} ${name}`);
    const entry = zone[name.toLowerCase().replace(/\.$/, '')];
    if (!entry) throw dnsError('ENOTFOUND', name);
    const records = entry[rrtype as keyof typeof entry];
    if (!records || records.length === 0) throw dnsError('ENODATA', name);
    return rrtype === 'TXT' ? records.map((r) => [String(r)]) : records;
  };
}
