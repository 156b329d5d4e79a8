/**
 * kumo.dkim.rsa_sha256_signer / ed25519_signer (lua-api-more.md §5.1). One
 * function under two names: the key decides the algorithm. Lenient table
 * (unknown keys ignored); the options KumoMTA parses but cannot honour fail.
 * Signers are cached by their whole parameter table and keys by KeySource,
 * each for `ttl` (300 s) on the context clock.
 */
import { lua, type LuaState, LUA_TSTRING, LUA_TTABLE, LUA_TBOOLEAN, LUA_TNUMBER } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { LuaClass } from '../lua/userdata.ts';
import { pushText, toText } from '../lua/strings.ts';
import { parseDuration } from '../util/duration.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { StructError, StructReader, describeValue } from './support/struct-args.ts';
import { readKeySource, resolveKeySource, type KeySource } from './support/key-source.ts';
import { loadSigningKey, makeSigner, type Canonicalization, type DkimSigner, type DkimSignerSpec } from '../auth/dkim-sign.ts';
import type { KeyObject } from 'node:crypto';

export const DkimSignerClass: LuaClass<DkimSigner> = new LuaClass<DkimSigner>({
  name: 'DkimSigner',
  meta: {
    __tostring: (L) => {
      const { spec, algorithm } = DkimSignerClass.check(L, 1);
      pushText(L, `DkimSigner(${algorithm} d=${spec.domain} s=${spec.selector})`);
      return 1;
    },
  },
});

const DEFAULT_TTL_MS = 300_000;
/** Parsed by KumoMTA but refused unless left at their default. */
const UNSUPPORTED_OPTIONS = ['atps', 'atpsh', 'agent_user_identifier', 'body_length', 'reporting'];

interface SignerParams {
  spec: DkimSignerSpec;
  keySource: KeySource;
  ttlMs: number;
  /** The whole table as JSON: the signer cache key. */
  cacheKey: string;
}

function readCanonicalization(p: StructReader, name: string): Canonicalization {
  const v = p.optString(name) ?? 'Relaxed';
  if (v !== 'Relaxed' && v !== 'Simple') p.fail(`unknown variant \`${v}\`, expected \`Relaxed\` or \`Simple\``);
  return v.toLowerCase() as Canonicalization;
}

function readHeaderNames(L: LuaState, p: StructReader): string[] {
  const names = p.with('headers', (idx) => {
    if (lua.lua_type(L, idx) !== LUA_TTABLE) p.fail('invalid type for `headers`, expected a sequence of header names');
    const out: string[] = [];
    const n = lua.lua_rawlen(L, idx) as number;
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, idx, i);
      const ok = lua.lua_type(L, -1) === LUA_TSTRING;
      const name = ok ? toText(L, -1) : '';
      lua.lua_pop(L, 1);
      if (!ok) p.fail(`headers: entry ${i} must be a string`);
      out.push(name);
    }
    return out;
  });
  return names ?? p.fail('missing field `headers`');
}

function isDefault(L: LuaState, idx: number): boolean {
  const t = lua.lua_type(L, idx);
  return t === LUA_TBOOLEAN ? !lua.lua_toboolean(L, idx) : false;
}

/** The parameter table as JSON with the key material blanked, for error messages. */
function redactedParams(L: LuaState): string {
  try {
    const params = JSON.parse(describeValue(L, 1)) as Record<string, unknown>;
    if ('key' in params && typeof params.key !== 'string') params.key = '<redacted>';
    return JSON.stringify(params);
  } catch {
    return '<parameters>';
  }
}

/** Reads the table; a parse error never echoes key_data (a private key) back into logs. */
function readParams(L: LuaState, fn: string): SignerParams {
  try {
    return readParamsUnsafe(L, fn);
  } catch (err) {
    if (!(err instanceof StructError)) throw err;
    throw new StructError(`${err.message.replace(/, while processing [\s\S]*$/, '')}, while processing ${redactedParams(L)}`);
  }
}

function readParamsUnsafe(L: LuaState, fn: string): SignerParams {
  const p = new StructReader(L, 1);
  for (const name of UNSUPPORTED_OPTIONS) {
    p.with(name, (idx) => {
      if (!isDefault(L, idx)) throw new Error(`${fn}: ${name} is not currently supported`);
    });
  }
  const expiration = p.with('expiration', (idx) => {
    if (lua.lua_type(L, idx) !== LUA_TNUMBER || !lua.lua_isinteger(L, idx) || (lua.lua_tointeger(L, idx) as number) < 0) {
      p.fail('invalid value for `expiration`, expected a number of seconds');
    }
    return lua.lua_tointeger(L, idx) as number;
  });
  const ttlInput = p.optDurationInput('ttl');
  let ttlMs = DEFAULT_TTL_MS;
  if (ttlInput !== undefined) {
    try {
      ttlMs = parseDuration(ttlInput, 'ttl');
    } catch (err) {
      p.fail((err as Error).message);
    }
  }
  const spec: DkimSignerSpec = {
    domain: p.string('domain'),
    selector: p.string('selector'),
    headers: readHeaderNames(L, p),
    headerCanonicalization: readCanonicalization(p, 'header_canonicalization'),
    bodyCanonicalization: readCanonicalization(p, 'body_canonicalization'),
    expirationSeconds: expiration,
    overSign: p.optBoolean('over_sign') ?? false,
  };
  const keySource = p.with('key', (idx) => readKeySource(L, idx)) ?? p.fail('missing field `key`');
  return { spec, keySource, ttlMs, cacheKey: describeValue(L, 1) };
}

function describeKeySource(source: KeySource): string {
  switch (source.kind) {
    case 'file':
      return `DKIM key ${source.path}`;
    case 'data':
      return 'DKIM key (key_data)';
    case 'vault':
      return `DKIM key (vault ${source.mount}/${source.path})`;
    case 'event':
      return `DKIM key (event ${source.name})`;
  }
}

function keySourceCacheKey(source: KeySource): string {
  return JSON.stringify(source, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}

/** Past this many entries, expired ones are dropped (signers for domains no longer seen). */
const SWEEP_AT = 1024;

/** Promise values cached until a deadline on the context clock; failures are not kept. */
class TtlCache<V> {
  private readonly entries = new Map<string, { expiresAt: number; value: Promise<V> }>();
  constructor(private readonly ctx: KumoContext) {}

  get(key: string, ttlMs: number, make: () => Promise<V>): Promise<V> {
    const now = this.ctx.clock.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    if (this.entries.size >= SWEEP_AT) {
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }
    const value = make();
    this.entries.set(key, { expiresAt: now + ttlMs, value });
    value.catch(() => this.entries.get(key)?.value === value && this.entries.delete(key));
    return value;
  }
}

interface Caches {
  signers: TtlCache<DkimSigner>;
  keys: TtlCache<KeyObject>;
}

const cachesByContext = new WeakMap<KumoContext, Caches>();

function cachesFor(ctx: KumoContext): Caches {
  let caches = cachesByContext.get(ctx);
  if (!caches) {
    caches = { signers: new TtlCache(ctx), keys: new TtlCache(ctx) };
    cachesByContext.set(ctx, caches);
  }
  return caches;
}

function signerFunction(name: string, ctx: KumoContext) {
  const fn = `kumo.dkim.${name}`;
  return asyncFunction(fn, (L) => {
    const params = readParams(L, fn);
    const caches = cachesFor(ctx);
    const signer = caches.signers.get(params.cacheKey, params.ttlMs, async () => {
      const key = await caches.keys.get(keySourceCacheKey(params.keySource), params.ttlMs, async () => {
        const what = describeKeySource(params.keySource);
        const bytes = await resolveKeySource(params.keySource, ctx).catch((err: Error) => {
          throw new Error(`${fn}: loading ${what}: ${err.message}`);
        });
        return loadSigningKey(bytes, `${fn}: ${what}`);
      });
      return makeSigner(params.spec, key);
    });
    return signer.then((s) => (Lr: LuaState) => (DkimSignerClass.push(Lr, s), 1));
  });
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const dkim = kumo.sub('dkim');
  dkim.fn('rsa_sha256_signer', signerFunction('rsa_sha256_signer', ctx));
  dkim.fn('ed25519_signer', signerFunction('ed25519_signer', ctx));
}
