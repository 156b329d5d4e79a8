/**
 * kumo.crypto (clients.md §11): AES block encryption with PKCS#7 padding
 * (ECB, or CBC with a random IV prefix) and AWS Signature Version 4.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { lua, type LuaState, LUA_TTABLE } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argBytes, argString } from '../lua/args.ts';
import { decodeUtf8Strict, keyBytes, pushBytes } from '../lua/strings.ts';
import { pushJson } from '../lua/marshal.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { pushBinaryResult } from './support/binary-result.ts';
import { readKeySource, resolveKeySource, type KeySource } from './support/key-source.ts';
import { StructReader, describeValue } from './support/struct-args.ts';
import { awsSignV4, type SigV4Result } from './support/aws-sigv4.ts';
import { parseRfc3339 } from './support/chrono-parse.ts';

type Mode = 'Ecb' | 'Cbc';

function readMode(L: LuaState): Mode {
  const mode = argString(L, 1);
  if (mode !== 'Ecb' && mode !== 'Cbc') throw new Error(`unknown variant \`${mode}\`, expected \`Ecb\` or \`Cbc\``);
  return mode;
}

/** The `{ key = KeySource }` parameter table. */
function readKeyParam(L: LuaState, idx: number): KeySource {
  if (lua.lua_type(L, idx) !== LUA_TTABLE) throw new Error(`deserialize error: invalid type: expected a map, while processing ${describeValue(L, idx)}`);
  lua.lua_getfield(L, idx, keyBytes('key'));
  try {
    if (lua.lua_isnil(L, -1)) throw new Error(`deserialize error: missing field \`key\`, while processing ${describeValue(L, idx)}`);
    return readKeySource(L, -1);
  } finally {
    lua.lua_pop(L, 1);
  }
}

function cipherName(key: Uint8Array, mode: Mode): string {
  if (key.length !== 16 && key.length !== 32) throw new Error('Key length must be 16 or 32 bytes');
  return `aes-${key.length * 8}-${mode.toLowerCase()}`;
}

export function aesEncrypt(mode: Mode, key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const name = cipherName(key, mode);
  const iv = mode === 'Cbc' ? randomBytes(16) : null;
  const cipher = createCipheriv(name, key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(iv ? Buffer.concat([iv, body]) : body);
}

export function aesDecrypt(mode: Mode, key: Uint8Array, data: Uint8Array): Uint8Array {
  const name = cipherName(key, mode);
  let iv: Uint8Array | null = null;
  let body = data;
  if (mode === 'Cbc') {
    if (data.length < 16) throw new Error('ciphertext must be prefixed by iv with len at least 16');
    iv = data.subarray(0, 16);
    body = data.subarray(16);
  }
  try {
    const decipher = createDecipheriv(name, key, iv);
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch (err) {
    const detail = (err as Error).message;
    throw new Error(mode === 'Ecb' ? `Decryption failed with AES ECB mode: ${detail}` : `Decryption failed with AES CBC mode: ${detail}`);
  }
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const crypto = kumo.sub('crypto');
  crypto.fn(
    'aes_encrypt_block',
    asyncFunction('kumo.crypto.aes_encrypt_block', async (L) => {
      const mode = readMode(L);
      const plaintext = Uint8Array.from(argBytes(L, 2));
      const source = readKeyParam(L, 3);
      const out = aesEncrypt(mode, await resolveKeySource(source, ctx), plaintext);
      return (Lr: LuaState) => {
        pushBytes(Lr, out);
        return 1;
      };
    }),
  );
  crypto.fn(
    'aes_decrypt_block',
    asyncFunction('kumo.crypto.aes_decrypt_block', async (L) => {
      const mode = readMode(L);
      const data = Uint8Array.from(argBytes(L, 2));
      const source = readKeyParam(L, 3);
      const out = aesDecrypt(mode, await resolveKeySource(source, ctx), data);
      return (Lr: LuaState) => {
        pushBinaryResult(Lr, out);
        return 1;
      };
    }),
  );
  crypto.fn(
    'aws_sign_v4',
    asyncFunction('kumo.crypto.aws_sign_v4', async (L) => {
      const p = new StructReader(L, 1);
      const target = { method: p.string('method'), uri: p.string('uri'), queryParams: p.optStringMap('query_params') ?? [] };
      const sign = readAwsSignParams(L, p);
      const result = await sign(ctx, target);
      return (Lr: LuaState) => {
        pushJson(Lr, { ...result });
        return 1;
      };
    }),
  );
}

/** What a signature covers besides the struct fields (req:aws_sign_v4 takes these from the request). */
export interface AwsSignTarget {
  method: string;
  uri: string;
  queryParams: [string, string][];
  /** Added as the `host` header when `headers` has no key `host` (req:aws_sign_v4). */
  hostHeader?: string;
}

/**
 * Reads kumo.crypto.aws_sign_v4's fields other than method, uri and
 * query_params (synchronously, before any await) and returns the signer.
 */
export function readAwsSignParams(L: LuaState, p: StructReader): (ctx: KumoContext, target: AwsSignTarget) => Promise<SigV4Result> {
  const keySource = (name: string): KeySource => {
    const source = p.with(name, (idx) => readKeySource(L, idx));
    return source ?? p.fail(`missing field \`${name}\``);
  };
  const accessSource = keySource('access_key');
  const secretSource = keySource('secret_key');
  const timestampText = p.optString('timestamp');
  const params = {
    region: p.string('region'),
    service: p.string('service'),
    headers: p.optStringMap('headers') ?? [],
    payload: p.optString('payload') ?? '',
    sessionToken: p.optString('session_token'),
  };
  let timestampSecs: number | undefined;
  if (timestampText !== undefined) {
    try {
      timestampSecs = parseRfc3339(timestampText).secs;
    } catch (err) {
      p.fail(`invalid timestamp ${JSON.stringify(timestampText)}: ${(err as Error).message}`);
    }
  }
  const utf8 = (bytes: Uint8Array, what: string) => {
    const text = decodeUtf8Strict(bytes);
    if (text === undefined) throw new Error(`aws_sign_v4: ${what} is not valid UTF-8`);
    return text;
  };
  return async (ctx, target) => {
    const accessKey = utf8(await resolveKeySource(accessSource, ctx), 'access_key');
    const secretKey = utf8(await resolveKeySource(secretSource, ctx), 'secret_key');
    const headers = target.hostHeader !== undefined && !params.headers.some(([k]) => k === 'host') ? [...params.headers, ['host', target.hostHeader] as [string, string]] : params.headers;
    return awsSignV4(
      { ...params, headers, method: target.method, uri: target.uri, queryParams: target.queryParams, accessKey, secretKey, timestampSecs: timestampSecs ?? Math.floor(ctx.clock.now() / 1000) },
      { sha256Hex, hmac },
    );
  };
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Uint8Array | string, data: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest());
}
