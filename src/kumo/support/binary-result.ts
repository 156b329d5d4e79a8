/**
 * BinaryResult (clients.md §9.3): digest and decrypt output. Encodings are
 * read as fields (`r.hex`, `r.base64url_nopad`, `r.bytes`); tostring gives hex.
 * It has no __pairs, so the serde encoders refuse it, as KumoMTA's do.
 */
import { LuaClass } from '../../lua/userdata.ts';
import type { LuaState } from '../../lua/fengari.ts';
import { pushBytes, pushText } from '../../lua/strings.ts';
import { CODEC_NAMES, encodeWith } from './base-codecs.ts';

export class BinaryResult {
  constructor(readonly bytes: Uint8Array) {}
}

const fields: Record<string, (L: LuaState, self: BinaryResult) => number> = {
  bytes: (L, self) => {
    pushBytes(L, self.bytes);
    return 1;
  },
};
for (const name of CODEC_NAMES) {
  fields[name] = (L, self) => {
    pushText(L, encodeWith(name, self.bytes));
    return 1;
  };
}

export const BINARY_RESULT = new LuaClass<BinaryResult>({
  name: 'BinaryResult',
  fields,
  meta: {
    __tostring: (L) => {
      pushText(L, encodeWith('hex', BINARY_RESULT.check(L, 1).bytes));
      return 1;
    },
  },
});

export function pushBinaryResult(L: LuaState, bytes: Uint8Array): void {
  BINARY_RESULT.push(L, new BinaryResult(bytes));
}
