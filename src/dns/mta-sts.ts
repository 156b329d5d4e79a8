/**
 * MTA-STS policies as `kumo.dns.configure_test_mta_sts` supplies them, and
 * their effect on an MX host list (lua-api-more §4.6, smtp-delivery §1.4).
 */

export type MtaStsMode = 'enforce' | 'testing' | 'none';

export interface MtaStsPolicy {
  mode: MtaStsMode;
  /** Lower-cased patterns; `*.suffix` allows exactly one extra leading label. */
  mx: string[];
  maxAgeSecs: number;
}

export class MtaStsPolicyError extends Error {}

/** Parses the `key: value` text of a policy document. */
export function parseMtaStsPolicy(text: string, domain: string): MtaStsPolicy {
  const fail = (why: string): never => {
    throw new MtaStsPolicyError(`MTA-STS policy for ${domain}: ${why}`);
  };
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) fail(`line ${JSON.stringify(line)} has no ':'`);
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'version') version = value;
    else if (key === 'mode') mode = value;
    else if (key === 'max_age') maxAge = value;
    else if (key === 'mx') mx.push(value.toLowerCase());
  }
  if (version !== 'STSv1') fail(`version must be STSv1, got ${JSON.stringify(version ?? '')}`);
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') fail(`mode must be enforce, testing or none, got ${JSON.stringify(mode ?? '')}`);
  if (maxAge === undefined || !/^\d+$/.test(maxAge)) fail(`max_age must be an integer, got ${JSON.stringify(maxAge ?? '')}`);
  if (mode !== 'none' && mx.length === 0) fail('at least one mx line is required');
  return { mode: mode as MtaStsMode, mx, maxAgeSecs: Number(maxAge) };
}

function stripHost(host: string): string {
  let h = host.toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && !h.slice(0, colon).includes(':')) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Does `host` (maybe `name.:port`) satisfy one of the policy's mx patterns? */
export function mtaStsAllows(policy: MtaStsPolicy, host: string): boolean {
  const name = stripHost(host);
  return policy.mx.some((raw) => {
    const pattern = raw.endsWith('.') ? raw.slice(0, -1) : raw;
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1);
      if (!name.endsWith(suffix)) return false;
      const head = name.slice(0, -suffix.length);
      return head.length > 0 && !head.includes('.');
    }
    return name === pattern;
  });
}
