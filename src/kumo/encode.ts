/**
 * kumo.encode (clients.md §10): RFC 4648 codecs and hex with strict
 * decoding, plus charset conversion.
 */
import { lua, type LuaState, LUA_TSTRING } from '../lua/fengari.ts';
import { argBytes, argString, isNoneOrNil } from '../lua/args.ts';
import { pushBytes, pushText, toBytes } from '../lua/strings.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { CODEC_NAMES, decodeWith, encodeWith, type CodecName } from './support/base-codecs.ts';
import { charsetDecode, charsetEncode } from './support/charsets.ts';

function encoder(name: CodecName) {
  return (L: LuaState): number => {
    if (lua.lua_type(L, 1) !== LUA_TSTRING) throw new Error('parameter must be a string');
    pushText(L, encodeWith(name, toBytes(L, 1)));
    return 1;
  };
}

function decoder(name: CodecName) {
  return (L: LuaState): number => {
    pushBytes(L, decodeWith(name, argString(L, 1)));
    return 1;
  };
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  const encode = kumo.sub('encode');
  for (const name of CODEC_NAMES) {
    encode.fn(`${name}_encode`, encoder(name));
    encode.fn(`${name}_decode`, decoder(name));
  }
  encode.fn('charset_decode', (L) => {
    const charset = argString(L, 1);
    pushText(L, charsetDecode(charset, argBytes(L, 2)));
    return 1;
  });
  encode.fn('charset_encode', (L) => {
    const charset = argString(L, 1);
    const text = argString(L, 2);
    const ignoreErrors = isNoneOrNil(L, 3) ? true : (lua.lua_toboolean(L, 3) as boolean);
    pushBytes(L, charsetEncode(charset, text, ignoreErrors));
    return 1;
  });
}
