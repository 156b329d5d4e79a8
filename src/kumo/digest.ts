/**
 * kumo.digest (clients.md §9): hashes over any number of arguments (strings
 * as raw bytes, anything else as its direct JSON text) and HMAC keyed by a
 * KeySource. Results are BinaryResult userdata.
 */
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { lua, type LuaState, LUA_TSTRING } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argBytes } from '../lua/args.ts';
import { encodeText, toBytes } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { pushBinaryResult } from './support/binary-result.ts';
import { luaToSerde } from './support/lua-value.ts';
import { writeJson } from './support/json-text.ts';
import { readKeySource, resolveKeySource } from './support/key-source.ts';

const HASHES: Record<string, string> = {
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_256: 'sha512-256',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
};

const HMACS: Record<string, string> = {
  hmac_sha1: 'sha1',
  hmac_sha224: 'sha224',
  hmac_sha256: 'sha256',
  hmac_sha384: 'sha384',
  hmac_sha512: 'sha512',
};

/** Each argument's bytes: a string as is, anything else as JSON text (array markers respected). */
export function digestInputs(L: LuaState): Uint8Array[] {
  const n = lua.lua_gettop(L);
  const parts: Uint8Array[] = [];
  for (let i = 1; i <= n; i++) {
    if (lua.lua_type(L, i) === LUA_TSTRING) parts.push(toBytes(L, i));
    else parts.push(encodeText(writeJson(luaToSerde(L, i, { materialize: false }), false)));
  }
  return parts;
}

function hashFunction(algorithm: string) {
  return (L: LuaState): number => {
    const h = createHash(algorithm);
    for (const part of digestInputs(L)) h.update(part);
    pushBinaryResult(L, new Uint8Array(h.digest()));
    return 1;
  };
}

function crc32Function(L: LuaState): number {
  let crc = 0;
  for (const part of digestInputs(L)) crc = crc32(part, crc);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, crc >>> 0, false);
  pushBinaryResult(L, out);
  return 1;
}

function hmacFunction(name: string, algorithm: string, ctx: KumoContext) {
  return asyncFunction(`kumo.digest.${name}`, async (L) => {
    const source = readKeySource(L, 1);
    const message = Uint8Array.from(argBytes(L, 2));
    const key = await resolveKeySource(source, ctx);
    const mac = new Uint8Array(createHmac(algorithm, key).update(message).digest());
    return (Lr: LuaState) => {
      pushBinaryResult(Lr, mac);
      return 1;
    };
  });
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  const digest = kumo.sub('digest');
  for (const [name, algorithm] of Object.entries(HASHES)) digest.fn(name, hashFunction(algorithm));
  digest.fn('crc32', crc32Function);
  for (const [name, algorithm] of Object.entries(HMACS)) digest.fn(name, hmacFunction(name, algorithm, ctx));
}
