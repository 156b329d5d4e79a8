/**
 * Who is calling (engine.md §8.2): trusted peer IPs get the trusted-ip group;
 * an Authorization header is checked by the policy's
 * `http_server_validate_auth_basic` / `_bearer` handlers, whose verdicts are
 * cached per credential for 60 s.
 */
import { lua } from '../../lua/fengari.ts';
import { pushText } from '../../lua/strings.ts';
import { toJson } from '../../lua/marshal.ts';
import type { EventRegistry } from '../../kumo/events.ts';
import type { Clock } from '../../util/clock.ts';
import { isJsonObject, type JsonValue } from '../../util/json.ts';
import { HttpError } from './reply.ts';

export const TRUSTED_IP_GROUP = 'kumomta:http-listener-trusted-ip';

export interface Identity {
  identity: string;
  context: string;
}

/** The AuthInfo KumoMTA passes to policy (`http_message_generated`'s second argument). */
export interface AuthInfo {
  peer_address: string | null;
  identities: Identity[];
  groups: string[];
}

export function authInfoJson(a: AuthInfo): { [k: string]: JsonValue } {
  return {
    peer_address: a.peer_address,
    identities: a.identities.map((i) => ({ identity: i.identity, context: i.context })),
    groups: [...a.groups],
  };
}

/** A short description for denial messages and `http_auth`. */
export function authSummary(a: AuthInfo): string {
  const who = a.identities.map((i) => i.identity);
  const parts = [`peer ${a.peer_address ?? 'unknown'}`];
  if (who.length > 0) parts.push(`identities [${who.join(', ')}]`);
  if (a.groups.length > 0) parts.push(`groups [${a.groups.join(', ')}]`);
  return parts.join(' ');
}

type Verdict = { ok: true; identities: Identity[]; groups: string[] } | { ok: false };

const CACHE_TTL_MS = 60_000;
const CACHE_SIZE = 128;

/** Small LRU with expiry; Map iteration order is insertion order. */
class VerdictCache {
  private readonly entries = new Map<string, { verdict: Verdict; expiresMs: number }>();
  constructor(private readonly clock: Clock) {}

  get(key: string): Verdict | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expiresMs <= this.clock.now()) return undefined;
    this.entries.set(key, e);
    return e.verdict;
  }

  set(key: string, verdict: Verdict): void {
    this.entries.delete(key);
    this.entries.set(key, { verdict, expiresMs: this.clock.now() + CACHE_TTL_MS });
    while (this.entries.size > CACHE_SIZE) this.entries.delete(this.entries.keys().next().value!);
  }
}

function verdictFrom(result: JsonValue | undefined, fallbackIdentity: Identity): Verdict {
  if (result === true) return { ok: true, identities: [fallbackIdentity], groups: [] };
  if (isJsonObject(result) && !Array.isArray(result)) {
    const identities: Identity[] = [];
    const ids = result.identities;
    if (Array.isArray(ids)) {
      for (const i of ids) {
        if (isJsonObject(i) && typeof i.identity === 'string') {
          identities.push({ identity: i.identity, context: typeof i.context === 'string' ? i.context : fallbackIdentity.context });
        }
      }
    }
    const groups = Array.isArray(result.groups) ? result.groups.filter((g): g is string => typeof g === 'string') : [];
    return { ok: true, identities, groups };
  }
  return { ok: false };
}

export class Authenticator {
  private readonly cache: VerdictCache;

  constructor(
    private readonly events: EventRegistry,
    clock: Clock,
  ) {
    this.cache = new VerdictCache(clock);
  }

  /** AuthInfo for a request; throws HttpError (400/401/500) when the credentials are bad. */
  async identify(peerIp: string, trusted: boolean, authorization: string | undefined): Promise<AuthInfo> {
    const info: AuthInfo = { peer_address: peerIp, identities: [], groups: trusted ? [TRUSTED_IP_GROUP] : [] };
    if (authorization === undefined) return info;
    const m = /^(\S+)\s+(\S.*)$/.exec(authorization.trim());
    if (!m) throw new HttpError(400, 'Malformed Authorization header', { plain: true });
    const scheme = m[1]!.toLowerCase();
    let verdict: Verdict;
    let failure: string;
    if (scheme === 'basic') {
      const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
      const password = colon >= 0 ? decoded.slice(colon + 1) : null;
      failure = `HttpBasicAuth Authentication Failed for ${user}`;
      verdict = await this.cached(`basic\0${decoded}`, 'http_server_validate_auth_basic', [user, password], {
        identity: user,
        context: 'HttpBasicAuth',
      });
    } else if (scheme === 'bearer') {
      const token = m[2]!;
      failure = 'BearerToken Authentication Failed';
      verdict = await this.cached(`bearer\0${token}`, 'http_server_validate_auth_bearer', [token], {
        identity: token,
        context: 'BearerToken',
      });
    } else {
      throw new HttpError(400, 'Malformed or unsupported Authorization header', { plain: true });
    }
    if (!verdict.ok) throw new HttpError(401, failure, { plain: true });
    info.identities.push(...verdict.identities);
    for (const g of verdict.groups) if (!info.groups.includes(g)) info.groups.push(g);
    return info;
  }

  private async cached(key: string, event: string, args: (string | null)[], fallback: Identity): Promise<Verdict> {
    const hit = this.cache.get(key);
    if (hit) return hit;
    let result: JsonValue | undefined;
    try {
      const r = await this.events.dispatch(
        event,
        (co) => {
          for (const a of args) {
            if (a === null) lua.lua_pushnil(co);
            else pushText(co, a);
          }
          return args.length;
        },
        (co, n) => (n > 0 ? toJson(co, 1) : undefined),
      );
      result = r.handled ? r.value : undefined;
    } catch {
      // A failing validator is not a verdict: do not cache it.
      throw new HttpError(500, 'try again later', { plain: true });
    }
    const verdict = verdictFrom(result, fallback);
    this.cache.set(key, verdict);
    return verdict;
  }
}
